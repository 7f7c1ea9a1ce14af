import { describe, expect, it } from 'vitest';
import { sha256Digest } from '../util/digest.js';
import { cellPassed, cellStarted, containerEvent, imageEvent, inputsEvent, MACHINE_ROOT, MACHINE_TMP, serviceEvent, vmEvent } from './testing/events.js';
import { transcriptFacts } from './transcript-facts.js';

const rowsOf = (f: ReturnType<typeof transcriptFacts>, cell: string) => Object.fromEntries(f.cells.get(cell)!.enforcement!.rows.map((r) => [r.setting, r.enforced]));

describe('transcriptFacts', () => {
  it("reads each cell's image, sandbox (with its services), outputs, and the run's bases", () => {
    const f = transcriptFacts([
      inputsEvent([{ ref: 'airlock/busybox', sbom: '{"spdx":1}' }, { ref: 'local/thing' }]),
      imageEvent('app@1234', 'app'),
      cellStarted('t[n=1]', 'app@1234'),
      serviceEvent('t[n=1]', 'db', 'airlock-r-t'),
      containerEvent('t[n=1]', { hostConfig: { NetworkMode: 'airlock-r-t' }, network: { id: 'n1', name: 'airlock-r-t', internal: true } }),
      cellPassed('t[n=1]', [{ path: '/out', entries: [{ path: 'a.txt', type: 'file', mode: 420, size: 3, digest: sha256Digest('abc') }, { path: 'l', type: 'symlink', mode: 511, size: 0, target: 'a.txt' }] }]),
    ]);
    expect(f.unreadable).toBe(0);
    expect(f.bases).toEqual([
      { ref: 'airlock/busybox', rootfsDigest: sha256Digest('airlock/busybox'), sbom: { digest: sha256Digest('{"spdx":1}'), size: 10 } },
      { ref: 'local/thing', rootfsDigest: sha256Digest('local/thing') },
    ]);
    const cell = f.cells.get('t[n=1]')!;
    expect(cell.image).toEqual({ variant: 'app@1234', rootfsDigest: sha256Digest('app') });
    expect(cell.outputs).toEqual([
      { path: '/out/a.txt', type: 'file', size: 3, blob: { digest: sha256Digest('abc'), size: 3 } },
      { path: '/out/l', type: 'symlink', size: 0, target: 'a.txt' },
    ]);
    expect(cell.enforcement).toMatchObject({ isolation: 'container', runtime: 'runc', line: 5, services: [{ name: 'db', user: '65534:65534', network: 'airlock-r-t', line: 4 }] });
    expect(rowsOf(f, 't[n=1]').network).toBe("the cell's own network, read back Internal: true (no route out)");
  });

  it('shows what the engine read back, not what the policy asked', () => {
    const f = transcriptFacts([
      containerEvent('loose', {
        hostConfig: { CapDrop: ['NET_RAW'], CapAdd: ['SYS_ADMIN'], Privileged: true, SecurityOpt: ['no-new-privileges', 'no-new-privileges=false'], ReadonlyRootfs: false, Memory: 0, PidsLimit: -1, NanoCpus: 0, CpuQuota: 50000, CpuPeriod: 100000, NetworkMode: 'bridge', PortBindings: { '80/tcp': [{}] }, Binds: ['/srv/x:/data'] },
      }),
    ]);
    expect(rowsOf(f, 'loose')).toMatchObject({
      network: 'bridge',
      capabilities: 'dropped: NET_RAW; added: SYS_ADMIN',
      privileged: 'yes',
      'no-new-privileges': 'off',
      'read-only root': 'no',
      memory: 'no limit',
      pids: 'no limit',
      cpus: '0.5',
      mounts: '/data (WRITABLE)',
      'published ports': '80/tcp',
    });
  });

  it("reads a VM cell's sandbox from QEMU's recorded command line, leaving the machine's paths out", () => {
    const f = transcriptFacts([vmEvent('smoke-vm')]);
    const e = f.cells.get('smoke-vm')!.enforcement!;
    expect(e).toMatchObject({ isolation: 'vm', runtime: 'qemu 7.2.22' });
    expect(rowsOf(f, 'smoke-vm')).toMatchObject({ network: 'no network card', memory: '256M', cpus: '1', acceleration: 'tcg (emulation)', reboot: expect.stringMatching(/^none/) });
    const text = JSON.stringify(e);
    expect(text).not.toContain(MACHINE_ROOT);
    expect(text).not.toContain(MACHINE_TMP);
    expect(text).not.toContain('/usr/bin/qemu');
  });

  it('skips an event its schema refuses and reads the rest', () => {
    const bad = { ...containerEvent('x'), data: { env: 'x' } };
    const f = transcriptFacts([bad, vmEvent('y')]);
    expect(f.unreadable).toBe(1);
    expect(f.cells.has('x')).toBe(false);
    expect(f.cells.get('y')?.enforcement?.isolation).toBe('vm');
  });
});
