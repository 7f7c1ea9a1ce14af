import { describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES, HARDENING_RULES, hardenedFields, hardeningMismatches, type HardeningRequest, isRootUser, tmpfsMeaning } from './hardening-rules.js';

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
