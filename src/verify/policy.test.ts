import { describe, expect, it } from 'vitest';
import { buildPredicate, buildStatement, type Statement } from '../proof/statement.js';
import type { TypedEvent } from '../proof/transcript-events.js';
import { HELPER_DIR, helperVolumeName } from '../engine/hardening.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { checkPolicy } from './policy.js';
import { cellStarted, containerData, environmentData, event, HARDENED, networkData, serviceData } from './testing/events.js';

const signed = (policy: Record<string, { loosened: string[] }>): Statement =>
  buildStatement(
    [{ name: 'transcript.jsonl', digest: sha256Digest('t') }],
    buildPredicate(
      {
        spec: { name: 'demo', digest: sha256Digest('spec') },
        environments: Object.entries(policy).map(([name, p]) => ({ name, image: name, variants: [], policy: p, verdict: 'passed' })),
        images: [],
        builder: { id: 'https://airlock.dev/builders/local/v1', version: {} },
      },
      { invocationId: 'r', startedOn: new Date(0), finishedOn: new Date(0) },
    ),
  );

const statement = signed({ linux: { loosened: ['readOnlyRootfs', 'user'] } });
const env = event('environment', environmentData());
const container = (over: Parameters<typeof containerData>[0] = {}) => event('container', containerData(over));
const check = (events: TypedEvent[], s = statement) => checkPolicy([env, ...events], s);
const refused = (events: TypedEvent[], details: Record<string, unknown>, s = statement, code = 'POLICY_NOT_ENFORCED') =>
  expect(() => check(events, s)).toThrow(expect.objectContaining({ code, details: expect.objectContaining(details) }));

describe('checkPolicy', () => {
  it('accepts the hardened read-back and its other spellings', () => {
    expect(check([container()])).toBe(1);
    for (const spelling of [
      { CapAdd: [], CapDrop: ['all'], SecurityOpt: ['no-new-privileges:true'] },
      { CapDrop: ['CAP_ALL'] },
      { SecurityOpt: ['seccomp=unconfined', 'no-new-privileges=true'] },
      // the same limit as quota/period; tmpfs options in another order and unit; bind options spelled out
      { NanoCpus: 0, CpuQuota: 100000, CpuPeriod: 100000 },
      { Tmpfs: { '/tmp': 'mode=1777,size=256m,nodev,nosuid,noexec' } },
      { Binds: [`${String((HARDENED.Binds as string[])[0]).replace(/:ro$/, ':ro,rprivate')}`] },
    ]) {
      expect(check([container({ hostConfig: { ...HARDENED, ...spelling } })])).toBe(1);
    }
    expect(check([container({ hostConfig: { ...HARDENED, ReadonlyRootfs: false }, policy: { readOnlyRootfs: false, loosened: ['readOnlyRootfs'] } })])).toBe(1);
  });

  it.each([
    ['NetworkMode', { NetworkMode: 'host' }],
    ['NetworkMode', { NetworkMode: undefined }],
    ['CapDrop', { CapDrop: ['NET_RAW'] }],
    ['CapDrop', { CapDrop: null }],
    ['CapAdd', { CapAdd: ['SYS_ADMIN'] }],
    ['Privileged', { Privileged: true }],
    ['Privileged', { Privileged: undefined }],
    ['SecurityOpt', { SecurityOpt: ['seccomp=unconfined'] }],
    ['SecurityOpt', { SecurityOpt: ['no-new-privileges', 'no-new-privileges:false'] }],
    ['ReadonlyRootfs', { ReadonlyRootfs: false }],
    ['Tmpfs', { Tmpfs: {} }],
    ['Tmpfs', { Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=268435456,mode=1777' } }],
    ['Tmpfs', { Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=1g,mode=1777' } }],
    ['Binds', { Binds: [...(HARDENED.Binds as string[]), '/:/host:ro'] }],
    ['Binds', { Binds: [(HARDENED.Binds as string[])[0]!.replace(/:ro$/, ':rw')] }],
    // limits the engine reads back as "unlimited", or other than the policy's
    ['NanoCpus', { NanoCpus: 0 }],
    ['NanoCpus', { NanoCpus: undefined }],
    ['NanoCpus', { NanoCpus: 4_000_000_000 }],
    ['Memory', { Memory: 0 }],
    ['Memory', { Memory: undefined }],
    ['Memory', { Memory: 536870912 }],
    ['PidsLimit', { PidsLimit: 0 }],
    ['PidsLimit', { PidsLimit: -1 }],
    ['PidsLimit', { PidsLimit: null }],
    ['PortBindings', { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } }],
  ])('POLICY_NOT_ENFORCED naming %s', (field, change) => {
    refused([container({ hostConfig: { ...HARDENED, ...change } })], { env: 'linux', field });
  });

  it('the user the engine reports is the policy\'s; root only when the policy loosens user', () => {
    refused([container({ user: '0:0' })], { field: 'User' });
    refused([container({ user: 'root', policy: { user: 'root' } })], { field: 'User' });
    expect(check([container({ user: '0:0', policy: { user: '0:0', loosened: ['user'] } })])).toBe(1);
    // a repro variation runs as another user, recorded with it
    expect(check([container({ user: '1234:1234', variation: { user: '1234:1234' } })])).toBe(1);
  });

  it('a container on a node mounts the volume named for the same helper, read-only at /.airlock, and nothing else', () => {
    const helper = (env.data as { helper: { digest: Digest } }).helper;
    const volume = { source: helperVolumeName(helper.digest), target: HELPER_DIR };
    expect(check([container({ hostConfig: { ...HARDENED, Binds: [`${volume.source}:/.airlock:ro`] }, helper: volume })])).toBe(1);
    // another volume, another place, or the volume written to
    refused([container({ hostConfig: { ...HARDENED, Binds: ['evil:/.airlock:ro'] }, helper: { source: 'evil', target: HELPER_DIR } })], { field: 'Binds' });
    refused([container({ hostConfig: { ...HARDENED, Binds: [`${volume.source}:/usr:ro`] }, helper: { ...volume, target: '/usr' } })], { field: 'Binds' });
    refused([container({ hostConfig: { ...HARDENED, Binds: [`${volume.source}:/.airlock:rw`] }, helper: volume })], { field: 'Binds' });
    // the event says volume but the engine read back the host file: the read-back decides
    refused([container({ helper: volume })], { field: 'Binds' });
  });

  it('TRANSCRIPT_EVENT_INVALID when a container event has no read-back HostConfig', () => {
    expect(() => container({ hostConfig: undefined })).toThrow(expect.objectContaining({ code: 'TRANSCRIPT_EVENT_INVALID' }));
  });

  it('POLICY_NOT_ENFORCED when no container event exists for listed environments', () => {
    refused([], {});
  });

  it('a gvisor cell must have run under runsc, as read back', () => {
    expect(check([container({ hostConfig: { ...HARDENED, Runtime: 'runsc' }, isolation: 'gvisor' })])).toBe(1);
    refused([container({ hostConfig: { ...HARDENED, Runtime: 'runc' }, isolation: 'gvisor' })], { field: 'Runtime', actual: 'runc' });
  });

  it('accepts the cell\'s internal services network, and only that', () => {
    const on = (name: string, internal: boolean, mode: string) => [
      event('network', networkData('linux', name, internal)),
      container({ hostConfig: { ...HARDENED, NetworkMode: mode }, network: { id: `id-${name}`, name, internal } }),
    ];
    expect(check(on('airlock-x', true, 'airlock-x'))).toBe(1);
    refused(on('airlock-x', false, 'airlock-x'), { field: 'NetworkMode' });
    refused(on('airlock-x', true, 'bridge'), { field: 'NetworkMode' });
    // a network no network event of this cell created
    refused([container({ hostConfig: { ...HARDENED, NetworkMode: 'airlock-x' }, network: { id: 'i', name: 'airlock-x', internal: true } })], { field: 'NetworkMode' });
  });

  describe('services are judged by the same rules', () => {
    const net = event('network', networkData('linux', 'airlock-net'));
    const service = (over: Parameters<typeof serviceData>[0] = {}) => event('service', serviceData(over));
    const base = { ...HARDENED, NetworkMode: 'airlock-net' };

    it('a hardened service on its cell\'s internal network passes', () => {
      expect(check([net, service(), container()])).toBe(2);
    });

    it.each([
      ['NetworkMode', { NetworkMode: 'bridge' }],
      ['NetworkMode', { NetworkMode: 'none' }],
      ['CapAdd', { CapAdd: ['NET_ADMIN'] }],
      ['Privileged', { Privileged: true }],
      ['Memory', { Memory: 0 }],
      ['PidsLimit', { PidsLimit: -1 }],
      ['NanoCpus', { NanoCpus: 0 }],
      ['Tmpfs', { Tmpfs: { '/tmp': 'rw,size=268435456' } }],
      ['PortBindings', { PortBindings: { '5432/tcp': [{ HostPort: '5432' }] } }],
      ['PortBindings', { PublishAllPorts: true }],
    ])('a service read back with another %s is refused', (field, change) => {
      refused([net, service({ hostConfig: { ...base, ...change } }), container()], { field, env: 'linux' });
    });

    it('a service running as root, or on a network with egress, is refused', () => {
      refused([net, service({ user: '0' }), container()], { field: 'User' });
      refused([event('network', networkData('linux', 'airlock-net', false)), service(), container()], { field: 'NetworkMode' });
    });

    it('a service of a cell the signed statement has no policy for is POLICY_MISSING', () => {
      refused([service({ cell: 'other' }), container()], { env: 'other' }, statement, 'POLICY_MISSING');
    });
  });

  it('a cell that ran needs its container event; a cached cell does not', () => {
    const finished = { cell: 'linux', state: 'finished', key: sha256Digest('k'), components: {}, steps: [], outputs: [] };
    const cached = event('cell', { ...finished, status: 'cached', cachedFrom: { runId: 'r0', bundleDir: '/b', transcriptSeq: 1 } });
    const passed = event('cell', { ...finished, status: 'passed', missReason: 'first-run', keyChanges: [] });
    expect(check([event('cell', cellStarted('linux', 'linux')), cached])).toBe(0);
    refused([event('cell', cellStarted('linux', 'linux')), passed], { env: 'linux', field: 'container' });
  });

  it('a VM cell had no network card, by its recorded QEMU command line', () => {
    const vm = (argv: string[]) =>
      event('vm', {
        env: 'linux',
        image: 'linux',
        imageId: 'sha256:1',
        isolation: 'vm',
        nic: 'none',
        accel: { used: 'tcg', reason: 'no kvm' },
        qemu: { binary: 'qemu-system-x86_64', version: '7.2', argv },
        kernel: { path: '/k', sha256: 'ab', version: '6.1', release: '6.1.0' },
        guestRoot: {},
        bootLog: { digest: sha256Digest('log'), size: 3 },
        bootMs: 3000,
        totalMs: 4000,
        policy: containerData().policy,
      });
    const good = ['qemu-system-x86_64', '-nodefaults', '-no-reboot', '-nic', 'none', '-m', '512M'];
    expect(check([container(), vm(good)])).toBe(1);
    for (const bad of [
      good.filter((a) => a !== 'none' && a !== '-nic'),
      [...good, '-netdev', 'user,id=n0'],
      [...good, '-device', 'virtio-net-pci'],
      good.filter((a) => a !== '-no-reboot'),
    ]) {
      refused([container(), vm(bad)], { field: 'qemu.argv' });
    }
  });

  describe('matrix cells answer to their environment\'s signed policy', () => {
    const strict = signed({ t: { loosened: [] } });
    const started = event('cell', cellStarted('t[n=1]', 't'));
    const cell = (over: Parameters<typeof containerData>[0] = {}) => container({ env: 't[n=1]', ...over });

    it('a matrix cell that loosened readOnlyRootfs is refused when its environment did not', () => {
      expect(check([started, cell()], strict)).toBe(1);
      refused([started, cell({ hostConfig: { ...HARDENED, ReadonlyRootfs: false }, policy: { readOnlyRootfs: false, loosened: ['readOnlyRootfs'] } })], { env: 't[n=1]', field: 'policy.loosened' }, strict);
    });

    it('a policy with a writable root that does not say so is refused', () => {
      refused([started, cell({ hostConfig: { ...HARDENED, ReadonlyRootfs: false }, policy: { readOnlyRootfs: false } })], { field: 'ReadonlyRootfs' }, strict);
    });

    it('POLICY_MISSING when the signed policy is empty or does not name the cell\'s environment', () => {
      const empty = structuredClone(strict);
      empty.predicate.buildDefinition.externalParameters.policy = {};
      refused([started, cell()], { env: 't[n=1]' }, empty, 'POLICY_MISSING');
      // a cell no signed `cell` event ties to an environment
      refused([cell()], {}, strict, 'POLICY_MISSING');
    });
  });
});
