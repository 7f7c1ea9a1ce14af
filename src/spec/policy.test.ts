import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, isRootUser, layerViolations, resolvePolicy, stepTimeoutViolation } from './policy.js';

const MiB = 1024 ** 2;

describe('isRootUser', () => {
  it.each(['0', 'root', '0:0', 'root:root', '0:1000', '000', 'root:wheel'])('%s is root', (u) => {
    expect(isRootUser(u)).toBe(true);
  });
  it.each(['65534:65534', '1000', 'nobody', '1000:0', 'rooter', '10'])('%s is not root', (u) => {
    expect(isRootUser(u)).toBe(false);
  });
});

describe('layerViolations', () => {
  it('lets a layer tighten every key freely', () => {
    const tight = { readOnlyRootfs: true, tmpfs: ['/tmp'], user: '1000:1000', memory: 64 * MiB, pids: 16, cpus: 0.5, timeout: 10_000 };
    expect(layerViolations(tight, [])).toEqual([]);
  });

  it('reports each loosening with where it is written', () => {
    const loose = { readOnlyRootfs: false, tmpfs: ['/tmp', '/var/cache'], user: '0', memory: 1024 * MiB, pids: 512, cpus: 2, timeout: 600_000 };
    const v = layerViolations(loose, []);
    expect(v.map((x) => [x.key, x.at])).toEqual([
      ['readOnlyRootfs', ['readOnlyRootfs']],
      ['tmpfs', ['tmpfs', 1]],
      ['user', ['user']],
      ['memory', ['memory']],
      ['pids', ['pids']],
      ['cpus', ['cpus']],
      ['timeout', ['timeout']],
    ]);
    expect(v.find((x) => x.key === 'memory')?.message).toBe(
      'memory 1g is above the default 512m; add "memory" to policy.loosen to allow it',
    );
  });

  it('accepts the loosenings it is allowed', () => {
    expect(layerViolations({ memory: 1024 * MiB, user: 'root' }, ['memory', 'user'])).toEqual([]);
    expect(layerViolations({ memory: 1024 * MiB, user: 'root' }, ['memory']).map((v) => v.key)).toEqual(['user']);
  });
});

describe('stepTimeoutViolation', () => {
  it('allows a step up to the policy timeout, and beyond only with "timeout"', () => {
    expect(stepTimeoutViolation(10_000, 10_000, [])).toBeUndefined();
    expect(stepTimeoutViolation(20_000, 10_000, ['timeout'])).toBeUndefined();
    expect(stepTimeoutViolation(20_000, 10_000, [])?.message).toBe(
      'step timeout 20s is above the policy timeout 10s; add "timeout" to policy.loosen to allow it',
    );
  });
});

describe('resolvePolicy', () => {
  it('is the default with no layers, and does not share its arrays', () => {
    const p = resolvePolicy([]);
    expect(p).toEqual(DEFAULT_POLICY);
    p.tmpfs.push('/x');
    expect(DEFAULT_POLICY.tmpfs).toEqual(['/tmp', '/out']);
  });

  it('layers key by key, later layers winning, arrays replacing', () => {
    const p = resolvePolicy([{ memory: 256 * MiB, tmpfs: ['/tmp'], pids: 100 }, { pids: 50, tmpfs: ['/out'] }]);
    expect(p).toMatchObject({ memoryBytes: 256 * MiB, pids: 50, tmpfs: ['/out'], cpus: 1, loosened: [] });
  });

  it('records what ends up looser than the default', () => {
    expect(resolvePolicy([{ memory: 1024 * MiB }, { memory: 256 * MiB }]).loosened).toEqual([]);
    expect(resolvePolicy([{ memory: 1024 * MiB, readOnlyRootfs: false }, { user: '0:0' }]).loosened).toEqual([
      'readOnlyRootfs',
      'user',
      'memory',
    ]);
    expect(resolvePolicy([{ timeout: 10_000 }], [20_000]).loosened).toEqual(['timeout']);
  });
});
