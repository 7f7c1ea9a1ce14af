import { describe, expect, it } from 'vitest';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  HARDENING_RULES,
  hardenedFields,
  hardeningMismatches,
  type HardeningRequest,
  isPodmanReadOnlyTmpfs,
  isRootUser,
  type Readback,
  tmpfsMeaning,
} from './hardening-rules.js';
import { podman43HostConfig } from './testing/podman-readback.js';

const REQUEST: HardeningRequest = {
  network: 'none',
  readOnlyRootfs: true,
  tmpfs: ['/tmp', '/work'],
  user: '65534:65534',
  memoryBytes: 512 * 1024 * 1024,
  pids: 128,
  cpus: 1.5,
  runtime: 'runsc',
  binds: [{ source: '/cas/helpers/busybox', target: '/.airlock/busybox' }],
};

/** What the engine reads back when it applied the request as asked. */
const applied = () => {
  const { hostConfig, config } = hardenedFields(REQUEST);
  return { hostConfig: structuredClone(hostConfig), user: config.User as string };
};

/** For every rule, a read-back that breaks it (and only it). */
const BREAKS: Record<string, Record<string, unknown> | { user: string }> = {
  NetworkMode: { NetworkMode: 'bridge' },
  CapDrop: { CapDrop: ['NET_RAW'] },
  CapAdd: { CapAdd: ['SYS_ADMIN'] },
  Privileged: { Privileged: true },
  SecurityOpt: { SecurityOpt: ['no-new-privileges:false'] },
  ReadonlyRootfs: { ReadonlyRootfs: false },
  Tmpfs: { Tmpfs: { '/tmp': 'rw,exec,nosuid,nodev,size=536870912,mode=1777', '/work': 'rw,noexec,nosuid,nodev,size=536870912,mode=1777' } },
  Binds: { Binds: ['/cas/helpers/busybox:/.airlock/busybox:rw'] },
  User: { user: '0:0' },
  Memory: { Memory: 0 },
  PidsLimit: { PidsLimit: -1 },
  NanoCpus: { NanoCpus: 2_000_000_000 },
  PortBindings: { PortBindings: { '22/tcp': [{ HostPort: '2222' }] } },
  Runtime: { Runtime: 'runc' },
};

describe('the hardening rule table', () => {
  it('accepts exactly what it asked for', () => {
    expect(hardeningMismatches(REQUEST, applied())).toEqual([]);
  });

  it('has a breaking case for every rule, and each breaks only its own rule', () => {
    expect(Object.keys(BREAKS).sort()).toEqual(HARDENING_RULES.map((r) => r.field).sort());
    for (const [field, change] of Object.entries(BREAKS)) {
      const rb = applied();
      if ('user' in change) rb.user = change.user as string;
      else Object.assign(rb.hostConfig, change);
      expect(hardeningMismatches(REQUEST, rb).map((m) => m.field), field).toEqual([field]);
    }
  });

  it('reads other spellings of the same hardening as the same', () => {
    const spellings: Record<string, unknown>[] = [
      { CapDrop: [...ALL_CAPABILITIES].map((c) => `CAP_${c}`) },
      { CapDrop: ['all'], CapAdd: null },
      { SecurityOpt: ['label=disable', 'no-new-privileges=true'] },
      { NanoCpus: 0, CpuQuota: 150000, CpuPeriod: 100000 },
      { Tmpfs: { '/work': 'mode=01777,size=512m,nodev,nosuid,noexec,rw', '/tmp': 'nosuid,nodev,noexec,size=524288k,mode=1777' } },
      { Binds: ['/cas/helpers/busybox:/.airlock/busybox:ro,rprivate'] },
      { PortBindings: null, PublishAllPorts: false },
    ];
    for (const s of spellings) {
      const rb = applied();
      Object.assign(rb.hostConfig, s);
      expect(hardeningMismatches(REQUEST, rb), JSON.stringify(s)).toEqual([]);
    }
  });

  it('names the field, what was asked and what the engine said', () => {
    const rb = applied();
    rb.hostConfig.Memory = 0;
    expect(hardeningMismatches(REQUEST, rb)).toEqual([{ field: 'Memory', expected: REQUEST.memoryBytes, actual: 0, message: `Memory: expected ${REQUEST.memoryBytes}, engine reports 0` }]);
  });

  it('asks nothing of the runtime when the request names none', () => {
    const { runtime: _r, ...plain } = REQUEST;
    const rb = applied();
    rb.hostConfig.Runtime = 'runc';
    expect(hardeningMismatches(plain, rb)).toEqual([]);
  });

  it('tmpfs options mean the same in any order and unit', () => {
    expect(tmpfsMeaning('size=1g,mode=01777,noexec')).toEqual({ readOnly: false, noexec: true, nosuid: false, nodev: false, size: 1024 ** 3, mode: '1777' });
  });

  it('root is uid 0, "root" or the image default', () => {
    for (const u of ['', '0', '0:0', '000:1', 'root', 'root:root']) expect(isRootUser(u), u).toBe(true);
    for (const u of ['65534', '65534:0', '1000:1000', 'nobody']) expect(isRootUser(u), u).toBe(false);
  });
});

/**
 * What Podman 4.3 (Debian 12, its Docker-compatible API) read back for a cell created with
 * REQUEST minus the runtime (the fields the table reads, as the engine wrote them): the
 * default capabilities it no longer holds instead of ALL, `oci` for the runtime, bind and
 * tmpfs options spelled out, and the tmpfs it adds itself on a read-only root.
 */
const { runtime: _runsc, ...PODMAN_REQUEST } = REQUEST;
const podman43 = (): Readback => ({
  hostConfig: { ...podman43HostConfig({ helper: '/cas/helpers/busybox', memory: 536870912, pids: 128, cpus: 1.5, tmpfs: ['/tmp', '/work'] }), AutoRemove: false } as unknown as Readback['hostConfig'],
  user: '65534:65534',
});

describe('the rule table on Podman’s read-back', () => {
  it('accepts what Podman applied for the request', () => {
    expect(hardeningMismatches(PODMAN_REQUEST, podman43())).toEqual([]);
  });

  it('reads the default set dropped as no capability, and names what it keeps', () => {
    const caps = HARDENING_RULES.find((r) => r.field === 'CapDrop')!;
    expect(caps.meaning(podman43())).toBe('all');
    expect([...DEFAULT_CAPABILITIES].every((c) => ALL_CAPABILITIES.includes(c))).toBe(true);
    const rb = podman43();
    rb.hostConfig.CapDrop = (rb.hostConfig.CapDrop as string[]).filter((c) => c !== 'NET_RAW');
    expect(caps.meaning(rb)).toEqual(DEFAULT_CAPABILITIES.filter((c) => c !== 'NET_RAW'));
  });

  it('keeps the tmpfs Podman added in the meaning, so reports show them', () => {
    const tmpfs = HARDENING_RULES.find((r) => r.field === 'Tmpfs')!.meaning(podman43()) as Record<string, { addedBy?: string; noexec: boolean }>;
    expect(Object.keys(tmpfs)).toEqual(['/run', '/tmp', '/var/tmp', '/work']);
    expect(tmpfs['/run']).toMatchObject({ addedBy: 'podman', noexec: false });
    expect(tmpfs['/tmp']!.addedBy).toBeUndefined();
    expect(isPodmanReadOnlyTmpfs('/var/tmp', 'tmpcopyup,nodev,rw,nosuid,rprivate')).toBe(true);
    expect(isPodmanReadOnlyTmpfs('/home', 'rw,rprivate,nosuid,nodev,tmpcopyup')).toBe(false);
  });

  /** Each change breaks exactly the named rule. */
  const breaks: [string, string, (rb: Readback) => void][] = [
    ['a default capability kept', 'CapDrop', (rb) => void (rb.hostConfig.CapDrop = (rb.hostConfig.CapDrop as string[]).slice(1))],
    ['a capability beyond the defaults', 'CapAdd', (rb) => void (rb.hostConfig.CapAdd = ['CAP_SYS_ADMIN'])],
    ['its own tmpfs executable on purpose', 'Tmpfs', (rb) => void ((rb.hostConfig.Tmpfs as Record<string, string>)['/run'] = 'rw,rprivate,nosuid,nodev,tmpcopyup,exec')],
    ['its own tmpfs with devices', 'Tmpfs', (rb) => void ((rb.hostConfig.Tmpfs as Record<string, string>)['/var/tmp'] = 'rw,rprivate,nosuid,tmpcopyup')],
    ['its form at a path it never adds', 'Tmpfs', (rb) => void ((rb.hostConfig.Tmpfs as Record<string, string>)['/home'] = 'rw,rprivate,nosuid,nodev,tmpcopyup')],
    ['its form instead of a requested tmpfs', 'Tmpfs', (rb) => void ((rb.hostConfig.Tmpfs as Record<string, string>)['/tmp'] = 'rw,rprivate,nosuid,nodev,tmpcopyup')],
    ['a requested tmpfs missing', 'Tmpfs', (rb) => void delete (rb.hostConfig.Tmpfs as Record<string, string>)['/work']],
    ['the helper writable', 'Binds', (rb) => void (rb.hostConfig.Binds = ['/cas/helpers/busybox:/.airlock/busybox:rw,rprivate,rbind'])],
    ['another CPU quota', 'NanoCpus', (rb) => void Object.assign(rb.hostConfig, { NanoCpus: 2_000_000_000, CpuQuota: 200000 })],
  ];
  it.each(breaks)('refuses %s (%s)', (_name, field, change) => {
    const rb = podman43();
    change(rb);
    expect(hardeningMismatches(PODMAN_REQUEST, rb).map((m) => m.field)).toEqual([field]);
  });

  it('never takes Podman’s `oci` for a runtime a request asked for (its API ignores HostConfig.Runtime)', () => {
    expect(hardeningMismatches(REQUEST, podman43()).map((m) => m.field)).toEqual(['Runtime']);
    expect(HARDENING_RULES.find((r) => r.field === 'Runtime')!.meaning(podman43())).toBeNull();
  });
});
