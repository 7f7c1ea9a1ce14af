/**
 * The sandbox policy of an environment: defaults, layering, and what counts as loosening.
 *
 * A spec may tighten anything freely. Loosening — anything less strict than DEFAULT_POLICY —
 * must be named in `policy.loosen` at the level that loosens it or above, so that a weaker
 * sandbox is always a visible, reviewed decision and is recorded in `Policy.loosened`.
 */
import { formatDuration, formatSize } from '../util/units.js';
import type { Policy } from './types.js';

export const DEFAULT_POLICY: Policy = Object.freeze({
  network: 'none',
  readOnlyRootfs: true,
  tmpfs: Object.freeze(['/tmp', '/out'] as string[]) as string[],
  user: '65534:65534',
  memoryBytes: 512 * 1024 ** 2,
  pids: 256,
  cpus: 1,
  timeoutMs: 300_000,
  loosened: Object.freeze([] as string[]) as string[],
});

/** Policy keys a spec may loosen, as written in YAML and in `policy.loosen`. `network` is not one: v1 has no network. */
export const LOOSENABLE_KEYS = ['readOnlyRootfs', 'tmpfs', 'user', 'memory', 'pids', 'cpus', 'timeout'] as const;
export type LoosenableKey = (typeof LOOSENABLE_KEYS)[number];

/** One level of policy as a spec writes it (top level or one environment), units already parsed. */
export interface PolicyLayer {
  network?: 'none';
  readOnlyRootfs?: boolean;
  tmpfs?: string[];
  user?: string;
  /** bytes */
  memory?: number;
  pids?: number;
  cpus?: number;
  /** ms */
  timeout?: number;
  loosen?: LoosenableKey[];
}

export interface PolicyViolation {
  key: LoosenableKey;
  /** where in the layer's mapping the loosening is written, e.g. ["tmpfs", 2] */
  at: (string | number)[];
  message: string;
}

/** True for uid 0 in any spelling Docker accepts: "0", "root", "0:0", "root:wheel", "000:1000". */
export function isRootUser(user: string): boolean {
  const uid = user.split(':', 1)[0] ?? '';
  return uid === 'root' || /^0+$/.test(uid);
}

const allowHint = (key: LoosenableKey): string => `; add "${key}" to policy.loosen to allow it`;

/**
 * The loosenings a layer writes, compared with DEFAULT_POLICY, that `allowed` does not cover.
 * `allowed` is the union of `loosen` at this level and every level above it.
 */
export function layerViolations(layer: PolicyLayer, allowed: Iterable<string>): PolicyViolation[] {
  const ok = new Set(allowed);
  const out: PolicyViolation[] = [];
  const report = (key: LoosenableKey, at: (string | number)[], what: string): void => {
    if (!ok.has(key)) out.push({ key, at, message: what + allowHint(key) });
  };
  const d = DEFAULT_POLICY;
  if (layer.readOnlyRootfs === false) {
    report('readOnlyRootfs', ['readOnlyRootfs'], 'readOnlyRootfs: false makes the root filesystem writable');
  }
  layer.tmpfs?.forEach((p, i) => {
    if (!d.tmpfs.includes(p)) {
      report('tmpfs', ['tmpfs', i], `tmpfs "${p}" is not one of the default tmpfs mounts (${d.tmpfs.join(', ')})`);
    }
  });
  if (layer.user !== undefined && isRootUser(layer.user)) {
    report('user', ['user'], `user "${layer.user}" runs as root (uid 0); the default is "${d.user}"`);
  }
  if (layer.memory !== undefined && layer.memory > d.memoryBytes) {
    report('memory', ['memory'], `memory ${formatSize(layer.memory)} is above the default ${formatSize(d.memoryBytes)}`);
  }
  if (layer.pids !== undefined && layer.pids > d.pids) {
    report('pids', ['pids'], `pids ${layer.pids} is above the default ${d.pids}`);
  }
  if (layer.cpus !== undefined && layer.cpus > d.cpus) {
    report('cpus', ['cpus'], `cpus ${layer.cpus} is above the default ${d.cpus}`);
  }
  if (layer.timeout !== undefined && layer.timeout > d.timeoutMs) {
    report('timeout', ['timeout'], `timeout ${formatDuration(layer.timeout)} is above the default ${formatDuration(d.timeoutMs)}`);
  }
  return out;
}

/** A step timeout above its environment's policy timeout loosens `timeout` too. */
export function stepTimeoutViolation(
  stepTimeoutMs: number,
  policyTimeoutMs: number,
  allowed: Iterable<string>,
): PolicyViolation | undefined {
  if (stepTimeoutMs <= policyTimeoutMs || new Set(allowed).has('timeout')) return undefined;
  return {
    key: 'timeout',
    at: ['timeout'],
    message:
      `step timeout ${formatDuration(stepTimeoutMs)} is above the policy timeout ${formatDuration(policyTimeoutMs)}` +
      allowHint('timeout'),
  };
}

/**
 * Layers policies over DEFAULT_POLICY, later layers winning key by key (arrays replace), and
 * records in `loosened` every key where the result is looser than the default — including
 * `timeout` when one of `stepTimeoutsMs` is above the resolved timeout. Does not check
 * permission: that is `layerViolations`' job.
 */
export function resolvePolicy(layers: readonly PolicyLayer[], stepTimeoutsMs: readonly number[] = []): Policy {
  const d = DEFAULT_POLICY;
  const p: Policy = { ...d, tmpfs: [...d.tmpfs], loosened: [] };
  for (const l of layers) {
    if (l.readOnlyRootfs !== undefined) p.readOnlyRootfs = l.readOnlyRootfs;
    if (l.tmpfs !== undefined) p.tmpfs = [...l.tmpfs];
    if (l.user !== undefined) p.user = l.user;
    if (l.memory !== undefined) p.memoryBytes = l.memory;
    if (l.pids !== undefined) p.pids = l.pids;
    if (l.cpus !== undefined) p.cpus = l.cpus;
    if (l.timeout !== undefined) p.timeoutMs = l.timeout;
  }
  const looser: Record<LoosenableKey, boolean> = {
    readOnlyRootfs: !p.readOnlyRootfs && d.readOnlyRootfs,
    tmpfs: p.tmpfs.some((t) => !d.tmpfs.includes(t)),
    user: isRootUser(p.user) && !isRootUser(d.user),
    memory: p.memoryBytes > d.memoryBytes,
    pids: p.pids > d.pids,
    cpus: p.cpus > d.cpus,
    timeout: p.timeoutMs > d.timeoutMs || stepTimeoutsMs.some((t) => t > p.timeoutMs),
  };
  p.loosened = LOOSENABLE_KEYS.filter((k) => looser[k]);
  return p;
}
