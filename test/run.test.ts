import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTranscript } from '../src/proof/transcript.js';
import { verifyBundle } from '../src/verify/index.js';
import { busyboxSpec, leftovers, REPO, runIn, sandbox, writeTree, type Sandbox } from './helpers.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await sandbox();
});
afterAll(() => sb.close());

async function events(bundleDir: string) {
  return parseTranscript(await readFile(join(bundleDir, 'transcript.jsonl'), 'utf8'));
}

describe('the smoke example, end to end on the real engine', () => {
  it('builds both stages, runs sealed, collects the output and seals a bundle that verifies', async () => {
    const r = await runIn(sb, join(REPO, 'airlock.yaml'));
    expect(r.error).toBeUndefined();
    expect(r.verdict).toBe('passed');
    expect(r.exitCode).toBe(0);
    expect(r.images.map((i) => i.name)).toEqual(['build', 'runtime']);
    expect(r.cells[0]!.steps.map((s) => s.verdict)).toEqual(['pass', 'pass', 'pass', 'pass']);

    const report = await sb.workspace.cas.readBytes(r.cells[0]!.outputs.find((o) => o.name === 'smoke/out/report.txt')!.digest);
    expect(report.toString()).toMatch(/^greeting=reviewer\n(square\[\d+\]=\d+\n){16}$/);
    expect(report.toString()).toContain('square[15]=225\n');

    const verified = await verifyBundle({ bundleDir: r.bundleDir, trustedKeys: [sb.key], blobDirs: [sb.workspace.artifactsDir] });
    // the ledger holds the run, its images, its steps and every blob its bundle depends on
    expect(sb.workspace.ledger.getRun(r.runId)).toMatchObject({ status: 'passed', exitCode: 0, bundleDir: r.bundleDir });
    expect(sb.workspace.ledger.listImages(r.runId).map((i) => i.rootfsDigest)).toEqual(expect.arrayContaining(r.images.map((i) => i.rootfsDigest)));
    expect(sb.workspace.ledger.listSteps(r.runId).filter((s) => s.env === 'smoke').map((s) => s.verdict)).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(sb.workspace.ledger.getBlob(r.cells[0]!.outputs[0]!.digest)).toMatchObject({ role: 'output', firstSeenRun: r.runId });
    expect(verified.checks.map((c) => c.name)).toContain('policy');

    const container = (await events(r.bundleDir)).find((e) => e.phase === 'container')!;
    const hc = container.data.hostConfig as Record<string, unknown>;
    expect(hc.NetworkMode).toBe('none');
    expect(hc.CapDrop).toEqual(['ALL']);
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(hc.Privileged).toBe(false);

    // the gVisor environment ran under runsc, as the engine read it back
    const gvisor = r.cells.find((e) => e.id === 'smoke-gvisor')!;
    expect(gvisor.steps.map((s) => s.verdict)).toEqual(['pass', 'pass', 'pass', 'pass']);
    const gvisorContainer = (await events(r.bundleDir)).find((e) => e.phase === 'container' && e.data.env === 'smoke-gvisor')!;
    expect((gvisorContainer.data.hostConfig as { Runtime: string }).Runtime).toBe('runsc');
    expect(gvisorContainer.data.runtime).toMatchObject({ name: 'runsc', version: expect.stringMatching(/^runsc version/) });

    // the VM environment ran in a QEMU guest with no network card, its boot log kept
    const vmCell = r.cells.find((c) => c.id === 'smoke-vm')!;
    expect(vmCell.steps.map((s) => s.verdict)).toEqual(['pass', 'pass', 'pass']);
    expect(vmCell.outputs.map((o) => o.name)).toEqual(['smoke-vm/out/report.txt']);
    const vm = (await events(r.bundleDir)).find((e) => e.phase === 'vm')!;
    expect(vm.data).toMatchObject({ env: 'smoke-vm', nic: 'none', accel: { used: expect.stringMatching(/^(kvm|tcg)$/), reason: expect.any(String) } });
    expect((vm.data.qemu as { argv: string[] }).argv.join(' ')).toContain('-nic none');
    expect(vm.data.kernel).toMatchObject({ sha256: expect.stringMatching(/^sha256:/) });
    expect(await leftovers(sb.engine, r.runId)).toBe(0);
  });
});

describe('sealed cells', () => {
  it('a step that tries the network fails inside the cell', async () => {
    const dir = join(sb.dir, 'net');
    await writeTree(dir, busyboxSpec('net', `  probe:
    image: box
    steps:
      - name: egress
        run: ["nc", "-w", "3", "1.1.1.1", "80"]
        expect: { exit: 0 }
`));
    const r = await runIn(sb, join(dir, 'airlock.yaml'));
    expect(r.verdict).toBe('failed');
    expect(r.exitCode).toBe(1);
    const step = (await events(r.bundleDir)).find((e) => e.phase === 'step')!;
    expect(step.data.exitCode).not.toBe(0);
    const stderr = await sb.workspace.cas.readBytes((step.data.stderr as { digest: `sha256:${string}` }).digest);
    expect(stderr.toString()).toContain('Network is unreachable');
  });

  it('runs as the policy user, cannot write its root, and can write its tmpfs', async () => {
    const dir = join(sb.dir, 'user');
    await writeTree(dir, busyboxSpec('user', `  who:
    image: box
    steps:
      - name: id
        run: ["id", "-u"]
        expect: { stdout: { equals: "65534\\n" } }
      - name: readonly-root
        run: "touch /probe"
        expect: { exit: 1, stderr: { contains: "Read-only file system" } }
      - name: tmpfs-writable
        run: "echo ok > /tmp/x && cat /tmp/x"
        expect: { stdout: { equals: "ok\\n" } }
`));
    const r = await runIn(sb, join(dir, 'airlock.yaml'));
    expect(r.cells[0]!.steps.map((s) => [s.name, s.verdict])).toEqual([
      ['id', 'pass'],
      ['readonly-root', 'pass'],
      ['tmpfs-writable', 'pass'],
    ]);
    expect(r.verdict).toBe('passed');
  });

  it('a step that exceeds its timeout is killed and recorded, and later steps are skipped', async () => {
    const dir = join(sb.dir, 'timeout');
    await writeTree(dir, busyboxSpec('timeout', `  slow:
    image: box
    steps:
      - name: hang
        run: ["sleep", "60"]
        timeout: 2s
      - name: after
        run: ["true"]
`));
    const started = Date.now();
    const r = await runIn(sb, join(dir, 'airlock.yaml'));
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.verdict).toBe('failed');
    const [hang, after] = r.cells[0]!.steps;
    expect(hang!.verdict).toBe('timeout');
    expect(hang!.durationMs).toBeGreaterThanOrEqual(1_900);
    expect(hang!.durationMs).toBeLessThan(10_000);
    expect(after!.verdict).toBe('skipped');
    const step = (await events(r.bundleDir)).find((e) => e.phase === 'step' && e.data.name === 'hang')!;
    expect(step.data.timedOut).toBe(true);
    expect(await leftovers(sb.engine, r.runId)).toBe(0);
  });

  it('a step\'s processes end with it: what it leaves behind is killed, and a fork bomb does not outlive its timeout', async () => {
    const dir = join(sb.dir, 'forkbomb');
    await writeTree(dir, busyboxSpec('forkbomb', `  bomb:
    image: box
    steps:
      - name: leave
        run: ["sh", "-c", "sleep 7777 & echo started"]
      - name: clean
        run: ["sh", "-c", "if grep -qs '77[7]7' /proc/[0-9]*/cmdline; then echo leaked; exit 1; fi"]
      - name: bomb
        run: ["sh", "-c", "echo made > /out/before.txt; b(){ b | b & }; b; sleep 60"]
        timeout: 3s
    outputs: ["/out"]
`));
    const r = await runIn(sb, join(dir, 'airlock.yaml'));
    expect(r.error).toBeUndefined();
    expect(r.cells[0]!.steps.map((s) => s.verdict)).toEqual(['pass', 'pass', 'timeout']);
    // the cell could still fork after the bomb: its outputs were collected (by a tar run in the cell)
    expect(r.cells[0]!.outputs.map((o) => o.name)).toContain('bomb/out/before.txt');
    expect(r.verdict).toBe('failed');
    await verifyBundle({ bundleDir: r.bundleDir, trustedKeys: [sb.key], blobDirs: [sb.workspace.artifactsDir] });
    expect(await leftovers(sb.engine, r.runId)).toBe(0);
  });

  it('a failing expectation fails the run with the diff shown', async () => {
    const dir = join(sb.dir, 'expect');
    await writeTree(dir, {
      ...busyboxSpec('expect', `  check:
    image: box
    steps:
      - name: greet
        run: ["echo", "hello, world"]
        expect: { stdout: { file: golden.txt } }
`),
      'golden.txt': 'hello, airlock\n',
    });
    const r = await runIn(sb, join(dir, 'airlock.yaml'));
    expect(r.verdict).toBe('failed');
    expect(r.exitCode).toBe(1);
    const [failure] = r.cells[0]!.steps[0]!.failures;
    expect(failure!.what).toBe('stdout');
    expect(failure!.diff).toContain('-hello, airlock');
    expect(failure!.diff).toContain('+hello, world');
    // a failed run is still sealed and verifiable: it is a proof of what happened
    await verifyBundle({ bundleDir: r.bundleDir, trustedKeys: [sb.key], blobDirs: [sb.workspace.artifactsDir] });
  });

  it('a failing build names the failing step and keeps the build log', async () => {
    const dir = join(sb.dir, 'badbuild');
    await writeTree(dir, {
      ...busyboxSpec('badbuild', `  e:
    image: box
    steps: [{ run: ["true"] }]
`),
      Dockerfile: 'FROM airlock/busybox\nRUN echo compiling && exit 3\n',
    });
    const r = await runIn(sb, join(dir, 'airlock.yaml'));
    expect(r.verdict).toBe('error');
    expect(r.error?.code).toBe('BUILD_FAILED');
    expect(r.exitCode).toBe(5);
    expect(r.error?.message).toMatch(/step 2\/\d+ RUN echo compiling && exit 3.*returned a non-zero code: 3/);
    const build = (await events(r.bundleDir)).find((e) => e.phase === 'build')!;
    const log = await sb.workspace.cas.readBytes((build.data.log as { digest: `sha256:${string}` }).digest);
    expect(log.toString()).toContain('compiling');
  });

  it('a build cannot reach the network either', async () => {
    const dir = join(sb.dir, 'buildnet');
    await writeTree(dir, {
      ...busyboxSpec('buildnet', `  e:
    image: box
    steps: [{ run: ["true"] }]
`),
      Dockerfile: 'FROM airlock/busybox\nRUN nc -w 3 1.1.1.1 80\n',
    });
    const r = await runIn(sb, join(dir, 'airlock.yaml'));
    expect(r.error?.code).toBe('BUILD_FAILED');
    const build = (await events(r.bundleDir)).find((e) => e.phase === 'build')!;
    const log = await sb.workspace.cas.readBytes((build.data.log as { digest: `sha256:${string}` }).digest);
    expect(log.toString()).toContain('Network is unreachable');
  });
});
