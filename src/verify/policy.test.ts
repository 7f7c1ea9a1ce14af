import { describe, expect, it } from 'vitest';
import { buildPredicate, buildStatement } from '../proof/statement.js';
import type { TranscriptEvent } from '../proof/transcript.js';
import { sha256Digest } from '../util/digest.js';
import { checkPolicy } from './policy.js';

const HARDENED = {
  NetworkMode: 'none',
  CapDrop: ['ALL'],
  CapAdd: [],
  Privileged: false,
  SecurityOpt: ['no-new-privileges'],
  ReadonlyRootfs: true,
  Memory: 536870912,
  PidsLimit: 256,
  NanoCpus: 1_000_000_000,
};

const statement = buildStatement(
  [{ name: 'transcript.jsonl', digest: sha256Digest('t') }],
  buildPredicate(
    {
      spec: { name: 'demo', digest: sha256Digest('spec') },
      environments: [{ name: 'linux', image: 'linux', policy: { loosened: ['readOnlyRootfs'] }, verdict: 'passed' }],
      images: [],
      builder: { id: 'https://airlock.dev/builders/local/v1', version: {} },
    },
    { invocationId: 'r', startedOn: new Date(0), finishedOn: new Date(0) },
  ),
);

function container(hostConfig: unknown, loosened: string[] = [], isolation = 'container'): TranscriptEvent {
  return {
    seq: 3,
    time: '2025-01-01T00:00:00.000Z',
    phase: 'container',
    prev: null,
    data: { env: 'linux', containerId: 'c', hostConfig, policy: { loosened }, isolation },
  };
}

describe('checkPolicy', () => {
  it('accepts the hardened HostConfig and its spellings', () => {
    expect(checkPolicy([container(HARDENED)], statement)).toBe(1);
    expect(checkPolicy([container({ ...HARDENED, CapAdd: null, CapDrop: ['all'], SecurityOpt: ['no-new-privileges:true'] })], statement)).toBe(1);
    expect(checkPolicy([container({ ...HARDENED, ReadonlyRootfs: false }, ['readOnlyRootfs'])], statement)).toBe(1);
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
    ['SecurityOpt', { SecurityOpt: ['no-new-privileges:false'] }],
    ['ReadonlyRootfs', { ReadonlyRootfs: false }],
    // limits the engine reads back as "unlimited"
    ['NanoCpus', { NanoCpus: 0 }],
    ['NanoCpus', { NanoCpus: undefined }],
    ['Memory', { Memory: 0 }],
    ['Memory', { Memory: undefined }],
    ['PidsLimit', { PidsLimit: 0 }],
    ['PidsLimit', { PidsLimit: -1 }],
    ['PidsLimit', { PidsLimit: null }],
  ])('POLICY_NOT_ENFORCED naming %s', (field, change) => {
    expect(() => checkPolicy([container({ ...HARDENED, ...change })], statement)).toThrow(
      expect.objectContaining({ code: 'POLICY_NOT_ENFORCED', details: expect.objectContaining({ env: 'linux', field }) }),
    );
  });

  it('POLICY_NOT_ENFORCED when the event has no read-back HostConfig', () => {
    expect(() => checkPolicy([container(undefined)], statement)).toThrow(
      expect.objectContaining({ code: 'POLICY_NOT_ENFORCED', details: expect.objectContaining({ field: 'hostConfig' }) }),
    );
  });

  it('POLICY_NOT_ENFORCED when no container event exists for listed environments', () => {
    expect(() => checkPolicy([], statement)).toThrow(expect.objectContaining({ code: 'POLICY_NOT_ENFORCED' }));
  });

  it('a gvisor cell must have run under runsc, as read back', () => {
    expect(checkPolicy([container({ ...HARDENED, Runtime: 'runsc' }, [], 'gvisor')], statement)).toBe(1);
    expect(() => checkPolicy([container({ ...HARDENED, Runtime: 'runc' }, [], 'gvisor')], statement)).toThrow(
      expect.objectContaining({ code: 'POLICY_NOT_ENFORCED', details: expect.objectContaining({ field: 'Runtime', actual: 'runc' }) }),
    );
  });

  it('accepts the cell\'s internal services network, and only that', () => {
    const event = (network: unknown, NetworkMode: string): TranscriptEvent => {
      const base = container({ ...HARDENED, NetworkMode });
      return { ...base, data: { ...base.data, network } };
    };
    expect(checkPolicy([event({ name: 'airlock-x', internal: true }, 'airlock-x')], statement)).toBe(1);
    for (const [network, mode] of [
      [{ name: 'airlock-x', internal: false }, 'airlock-x'],
      [{ name: 'airlock-x', internal: true }, 'bridge'],
      [undefined, 'airlock-x'],
    ] as const) {
      expect(() => checkPolicy([event(network, mode)], statement)).toThrow(
        expect.objectContaining({ code: 'POLICY_NOT_ENFORCED', details: expect.objectContaining({ field: 'NetworkMode' }) }),
      );
    }
  });

  it('a cell that ran needs its container event; a cached cell does not', () => {
    const cell = (status: string): TranscriptEvent => ({ seq: 9, time: '2025-01-01T00:00:00.000Z', phase: 'cell', prev: null, data: { cell: 'test[cc=gcc]', state: 'finished', status } });
    expect(checkPolicy([cell('cached')], statement)).toBe(0);
    expect(() => checkPolicy([cell('passed')], statement)).toThrow(
      expect.objectContaining({ code: 'POLICY_NOT_ENFORCED', details: expect.objectContaining({ env: 'test[cc=gcc]', field: 'container' }) }),
    );
  });

  it('a VM cell had no network card, by its recorded QEMU command line', () => {
    const vm = (argv: string[]): TranscriptEvent => ({ seq: 4, time: '2025-01-01T00:00:00.000Z', phase: 'vm', prev: null, data: { env: 'linux-vm', nic: 'none', qemu: { argv } } });
    const good = ['qemu-system-x86_64', '-nodefaults', '-no-reboot', '-nic', 'none', '-m', '512M'];
    expect(checkPolicy([container(HARDENED), vm(good)], statement)).toBe(1);
    for (const bad of [
      good.filter((a) => a !== 'none' && a !== '-nic'),
      [...good, '-netdev', 'user,id=n0'],
      [...good, '-device', 'virtio-net-pci'],
      good.filter((a) => a !== '-no-reboot'),
    ]) {
      expect(() => checkPolicy([container(HARDENED), vm(bad)], statement)).toThrow(expect.objectContaining({ code: 'POLICY_NOT_ENFORCED', details: expect.objectContaining({ field: 'qemu.argv' }) }));
    }
  });

  describe('matrix cells answer to their environment\'s signed policy', () => {
    const strict = buildStatement(
      [{ name: 'transcript.jsonl', digest: sha256Digest('t') }],
      buildPredicate(
        {
          spec: { name: 'demo', digest: sha256Digest('spec') },
          environments: [{ name: 't', image: 'app', policy: { loosened: [] }, verdict: 'passed' }],
          images: [],
          builder: { id: 'https://airlock.dev/builders/local/v1', version: {} },
        },
        { invocationId: 'r', startedOn: new Date(0), finishedOn: new Date(0) },
      ),
    );
    const started: TranscriptEvent = { seq: 2, time: '2025-01-01T00:00:00.000Z', phase: 'cell', prev: null, data: { cell: 't[n=1]', env: 't', state: 'started' } };
    const cellContainer = (hostConfig: unknown, loosened: string[]): TranscriptEvent => {
      const base = container(hostConfig, loosened);
      return { ...base, data: { ...base.data, env: 't[n=1]' } };
    };

    it('a matrix cell that loosened readOnlyRootfs is refused when its environment did not', () => {
      expect(checkPolicy([started, cellContainer(HARDENED, [])], strict)).toBe(1);
      expect(() => checkPolicy([started, cellContainer({ ...HARDENED, ReadonlyRootfs: false }, ['readOnlyRootfs'])], strict)).toThrow(
        expect.objectContaining({ code: 'POLICY_NOT_ENFORCED', details: expect.objectContaining({ env: 't[n=1]', field: 'policy.loosened' }) }),
      );
    });

    it('POLICY_MISSING when the signed policy is empty or does not name the cell\'s environment', () => {
      const empty = structuredClone(strict);
      empty.predicate.buildDefinition.externalParameters.policy = {};
      expect(() => checkPolicy([started, cellContainer(HARDENED, [])], empty)).toThrow(
        expect.objectContaining({ code: 'POLICY_MISSING', details: expect.objectContaining({ env: 't[n=1]' }) }),
      );
      // a cell no signed `cell` event ties to an environment
      expect(() => checkPolicy([cellContainer(HARDENED, [])], strict)).toThrow(expect.objectContaining({ code: 'POLICY_MISSING' }));
    });
  });
});
