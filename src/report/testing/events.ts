import type { TranscriptEvent } from '../../proof/transcript.js';
import { sha256Digest } from '../../util/digest.js';

/**
 * Transcript events as a real run writes them (trimmed read-backs copied from one), carrying
 * the machine paths a page must not show: the helper bind's host side, QEMU's binary, kernel
 * file and sockets under a temp dir.
 */

export const MACHINE_ROOT = '/home/builder/src/proj';
export const MACHINE_TMP = '/tmp/airlock-vm-Nojp';

const POLICY = { cpus: 1, loosened: [], memoryBytes: 536870912, network: 'none', pids: 256, readOnlyRootfs: true, timeoutMs: 300000, tmpfs: ['/tmp', '/out'], user: '65534:65534' };

const TMPFS = 'rw,noexec,nosuid,nodev,size=536870912,mode=1777';

export function hostConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Binds: [`${MACHINE_ROOT}/artifacts/helpers/busybox-3d9f:/.airlock/busybox:ro`],
    CapAdd: [],
    CapDrop: ['ALL'],
    CpuPeriod: 0,
    CpuQuota: 0,
    Memory: 536870912,
    MemorySwap: 536870912,
    NanoCpus: 1000000000,
    NetworkMode: 'none',
    PidsLimit: 256,
    PortBindings: {},
    Privileged: false,
    PublishAllPorts: false,
    ReadonlyRootfs: true,
    Runtime: 'runc',
    SecurityOpt: ['no-new-privileges'],
    Tmpfs: { '/out': TMPFS, '/tmp': TMPFS },
    ...overrides,
  };
}

let seq = 0;
function event(phase: string, data: Record<string, unknown>): TranscriptEvent {
  return { seq: seq++, time: '2025-01-02T03:04:06.000Z', phase, data, prev: null };
}

export function containerEvent(env: string, opts: { isolation?: 'container' | 'gvisor'; hostConfig?: Record<string, unknown>; network?: { id: string; name: string; internal: boolean } } = {}): TranscriptEvent {
  return event('container', {
    env,
    containerId: 'c0ffee',
    image: 'app',
    imageId: 'sha256:ff08',
    user: '65534:65534',
    isolation: opts.isolation ?? 'container',
    runtime: opts.isolation === 'gvisor' ? { name: 'runsc', path: '/usr/bin/runsc', version: 'release-20240401.0' } : { name: 'runc' },
    policy: POLICY,
    ...(opts.network ? { network: opts.network } : {}),
    hostConfig: hostConfig({ ...(opts.isolation === 'gvisor' ? { Runtime: 'runsc' } : {}), ...opts.hostConfig }),
  });
}

export function serviceEvent(cell: string, name: string, network: string): TranscriptEvent {
  return event('service', {
    cell,
    name,
    containerId: 'beef',
    policy: POLICY,
    user: '65534:65534',
    hostConfig: hostConfig({ NetworkMode: network }),
    networkAliases: [name],
    networks: [network],
    endpoint: {},
    ip: '172.18.0.2',
    healthyAfterMs: 1400,
    strategy: 'port',
  });
}

export function vmEvent(env: string): TranscriptEvent {
  return event('vm', {
    env,
    image: 'runtime',
    imageId: 'sha256:c5b8',
    isolation: 'vm',
    nic: 'none',
    accel: { used: 'tcg', reason: '/dev/kvm is not usable (ENOENT); using tcg' },
    qemu: {
      binary: '/usr/bin/qemu-system-x86_64',
      version: '7.2.22',
      argv: ['-nodefaults', '-no-reboot', '-nic', 'none', '-accel', 'tcg', '-m', '256M', '-smp', '1', '-kernel', `${MACHINE_ROOT}/artifacts/kernels/vmlinuz`, '-initrd', `${MACHINE_TMP}/root.cpio`],
    },
    kernel: { path: `${MACHINE_ROOT}/artifacts/kernels/vmlinuz`, sha256: sha256Digest('kernel'), version: '6.1.192-3', release: '6.1.0-57-cloud-amd64' },
    guestRoot: { kind: 'initramfs' },
    bootLog: { digest: sha256Digest('boot'), size: 4 },
    bootMs: 3442,
    totalMs: 6413,
    policy: POLICY,
  });
}

export function cellStarted(cell: string, image: string): TranscriptEvent {
  return event('cell', { cell, env: cell.replace(/\[.*$/, ''), matrix: null, state: 'started', image });
}

export function cellPassed(cell: string, outputs: { path: string; entries: Record<string, unknown>[] }[]): TranscriptEvent {
  return event('cell', {
    cell,
    state: 'finished',
    status: 'passed',
    key: sha256Digest(cell),
    components: {},
    steps: [],
    outputs,
    missReason: 'first-run',
    keyChanges: [],
  });
}

export function imageEvent(variant: string, rootfs: string): TranscriptEvent {
  return event('image', { image: variant.split('@')[0], variant, imageId: 'sha256:ff08', rootfsDigest: sha256Digest(rootfs), listing: { digest: sha256Digest(`${rootfs} listing`), size: 10 } });
}

export function inputsEvent(bases: { ref: string; sbom?: string }[]): TranscriptEvent {
  return event('inputs', {
    spec: { path: 'airlock.yaml', digest: sha256Digest('spec'), size: 4 },
    dockerfiles: [],
    contexts: [],
    goldens: [],
    bases: bases.map((b) => ({ ref: b.ref, imageId: 'sha256:96ef', rootfsDigest: sha256Digest(b.ref), ...(b.sbom !== undefined ? { sbom: { digest: sha256Digest(b.sbom), size: Buffer.byteLength(b.sbom) } } : {}) })),
    locks: [],
  });
}
