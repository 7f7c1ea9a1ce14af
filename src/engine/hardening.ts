import type { Policy } from '../spec/schema.js';

/** Where the controller's static helper (busybox) appears inside every cell, read-only. */
export const HELPER_MOUNT = '/.airlock/busybox';

export interface HardeningInput {
  policy: Policy;
  /** host path of the static helper binary bind-mounted read-only at HELPER_MOUNT */
  helper: string;
  runtime?: string;
  /** an internal (no-egress) network holding the cell's services; without services: none */
  network?: string;
}

/**
 * The HostConfig every cell is created with. Only what airlock itself needs is
 * mounted (its helper, read-only); writable space is tmpfs, sized and without
 * setuid or device nodes.
 */
export function hardenedHostConfig({ policy, helper, runtime, network }: HardeningInput): Record<string, unknown> {
  const tmpfs: Record<string, string> = {};
  for (const path of policy.tmpfs) tmpfs[path] = `rw,noexec,nosuid,nodev,size=${policy.memoryBytes},mode=1777`;
  return {
    NetworkMode: network ?? 'none',
    CapDrop: ['ALL'],
    CapAdd: [],
    Privileged: false,
    SecurityOpt: ['no-new-privileges'],
    ReadonlyRootfs: policy.readOnlyRootfs,
    Tmpfs: tmpfs,
    Memory: policy.memoryBytes,
    MemorySwap: policy.memoryBytes,
    PidsLimit: policy.pids,
    NanoCpus: Math.round(policy.cpus * 1e9),
    IpcMode: 'private',
    Binds: [`${helper}:${HELPER_MOUNT}:ro`],
    AutoRemove: false,
    ...(runtime ? { Runtime: runtime } : {}),
  };
}

/** The fields of the engine's read-back HostConfig that the policy speaks about. */
export interface ReadbackHostConfig {
  NetworkMode?: string;
  CapDrop?: string[] | null;
  CapAdd?: string[] | null;
  Privileged?: boolean;
  SecurityOpt?: string[] | null;
  ReadonlyRootfs?: boolean;
  Tmpfs?: Record<string, string> | null;
  Memory?: number;
  PidsLimit?: number | null;
  NanoCpus?: number;
  Binds?: string[] | null;
  Runtime?: string;
  [key: string]: unknown;
}

/**
 * Compares what the engine says it applied with what the policy asked for. Any
 * difference (an engine that ignores a field, a daemon default that overrides
 * it) is returned so the cell is refused before it starts.
 */
export function policyMismatches(input: HardeningInput, got: ReadbackHostConfig): string[] {
  const want = hardenedHostConfig(input);
  const problems: string[] = [];
  const check = (field: string, ok: boolean, expected: unknown) => {
    if (!ok) problems.push(`${field}: expected ${JSON.stringify(expected)}, engine reports ${JSON.stringify(got[field] ?? null)}`);
  };
  check('NetworkMode', got.NetworkMode === want.NetworkMode, want.NetworkMode);
  check('CapDrop', (got.CapDrop ?? []).some((c) => c.toUpperCase() === 'ALL'), ['ALL']);
  check('CapAdd', (got.CapAdd ?? []).length === 0, []);
  check('Privileged', got.Privileged === false, false);
  check(
    'SecurityOpt',
    (got.SecurityOpt ?? []).some((o) => o === 'no-new-privileges' || o === 'no-new-privileges:true'),
    ['no-new-privileges'],
  );
  check('ReadonlyRootfs', got.ReadonlyRootfs === input.policy.readOnlyRootfs, input.policy.readOnlyRootfs);
  check('Memory', got.Memory === want.Memory, want.Memory);
  check('PidsLimit', got.PidsLimit === want.PidsLimit, want.PidsLimit);
  check('NanoCpus', got.NanoCpus === want.NanoCpus, want.NanoCpus);
  const tmpfs = Object.keys(got.Tmpfs ?? {}).sort();
  check('Tmpfs', JSON.stringify(tmpfs) === JSON.stringify([...input.policy.tmpfs].sort()), input.policy.tmpfs);
  check('Binds', JSON.stringify(got.Binds ?? []) === JSON.stringify(want.Binds), want.Binds);
  if (input.runtime) check('Runtime', got.Runtime === input.runtime, input.runtime);
  return problems;
}
