/**
 * Transcript events as a real run writes them (each checked by its phase's schema), for
 * verify's tests: a hardened cell, its services and networks, with any field overridden.
 */
import type { EventData, TranscriptPhase, TypedEvent } from '../../proof/transcript-events.js';
import { parseEvent } from '../../proof/transcript-events.js';
import { type Digest, sha256Digest } from '../../util/digest.js';

export const HELPER = '/var/lib/airlock/artifacts/helpers/busybox-4f00';

export type Policy = EventData<'container'>['policy'];

export const POLICY: Policy = {
  network: 'none',
  readOnlyRootfs: true,
  tmpfs: ['/tmp'],
  user: '65534:65534',
  memoryBytes: 268435456,
  pids: 256,
  cpus: 1,
  timeoutMs: 600_000,
  loosened: [],
};

/** What Docker 28 reads back for a cell created with POLICY (only fields the rule table reads, and a few more). */
export const HARDENED: Record<string, unknown> = {
  NetworkMode: 'none',
  CapDrop: ['ALL'],
  CapAdd: null,
  Privileged: false,
  SecurityOpt: ['no-new-privileges'],
  ReadonlyRootfs: true,
  Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=268435456,mode=1777' },
  Binds: [`${HELPER}:/.airlock/busybox:ro`],
  Memory: 268435456,
  MemorySwap: 268435456,
  PidsLimit: 256,
  NanoCpus: 1_000_000_000,
  PortBindings: {},
  PublishAllPorts: false,
  IpcMode: 'private',
};

let seq = 0;
/** One event, checked by its phase's schema (a fixture that drifts from the vocabulary fails here). */
export function event<P extends TranscriptPhase>(phase: P, data: unknown, at?: number): TypedEvent<P> {
  return parseEvent({ seq: at ?? seq++, time: '2025-01-01T00:00:00.000Z', phase, data: data as Record<string, unknown>, prev: null }) as TypedEvent<P>;
}

export const environmentData = (blob: { digest: Digest; size: number } = { digest: sha256Digest('busybox'), size: 7 }) => ({
  engine: { version: '28.2.2', apiVersion: '1.50', os: 'linux', arch: 'amd64', kernel: '6.1.0', storageDriver: 'overlay2', cgroupVersion: '2', runtimes: ['runc'], defaultRuntime: 'runc', product: 'docker' as const },
  host: { platform: 'linux', release: '6.1.0', arch: 'x64', cpus: 2, node: 'v20.20.2' },
  airlock: { version: '0.1.0' },
  helper: { path: HELPER, package: 'busybox-static 1:1.35.0-4+b3', deb: sha256Digest('deb'), ...blob },
});

export const containerData = (over: { env?: string; hostConfig?: unknown; policy?: Partial<Policy>; user?: string; isolation?: string; network?: unknown; variation?: unknown; helper?: unknown } = {}) => {
  const policy = { ...POLICY, ...over.policy };
  return {
    env: over.env ?? 'linux',
    containerId: 'c0ffee',
    image: 'linux',
    imageId: 'sha256:1234',
    user: over.user ?? policy.user,
    isolation: over.isolation ?? 'container',
    runtime: { name: over.isolation === 'gvisor' ? 'runsc' : 'runc' },
    policy,
    ...(over.variation ? { variation: over.variation } : {}),
    ...(over.network ? { network: over.network } : {}),
    ...(over.helper ? { helper: over.helper } : {}),
    hostConfig: 'hostConfig' in over ? over.hostConfig : HARDENED,
  };
};

export const networkData = (cell: string, name: string, internal = true) => ({
  cell,
  id: `id-${name}`,
  name,
  readback: { Internal: internal, Driver: 'bridge', IPAM: {}, Labels: {} },
});

export const serviceData = (over: { cell?: string; name?: string; network?: string; hostConfig?: Record<string, unknown>; policy?: Partial<Policy>; user?: string } = {}) => {
  const policy = { ...POLICY, ...over.policy };
  const network = over.network ?? 'airlock-net';
  return {
    cell: over.cell ?? 'linux',
    name: over.name ?? 'db',
    containerId: '5e1f',
    policy,
    user: over.user ?? policy.user,
    hostConfig: over.hostConfig ?? { ...HARDENED, NetworkMode: network },
    networkAliases: ['db'],
    networks: [network],
    endpoint: {},
    ip: '10.0.0.2',
    healthyAfterMs: 10,
    strategy: 'port',
  };
};

export const cellStarted = (cell: string, env: string) => ({ cell, env, matrix: null, state: 'started', image: `${env}@0` });

export const cellPassed = (cell: string) => ({ cell, state: 'finished', status: 'passed', key: sha256Digest(cell), components: {}, steps: [], outputs: [], missReason: 'first-run', keyChanges: [] });
