import type { Policy } from '../spec/schema.js';
import { digestHex, type Digest } from '../util/digest.js';
import { hardenedFields, hardeningMismatches, type HardeningRequest } from './hardening-rules.js';

/** The folder and name of the controller's static helper (busybox) inside every cell, read-only. */
export const HELPER_DIR = '/.airlock';
export const HELPER_NAME = 'busybox';
export const HELPER_MOUNT = `${HELPER_DIR}/${HELPER_NAME}`;

/**
 * How the helper gets into a container: the controller's file bound at HELPER_MOUNT (an engine
 * on this machine), or a volume holding only that file bound at HELPER_DIR (an engine that
 * cannot see this machine's files; helper-volume.ts). Either way read-only.
 */
export interface HelperMount {
  source: string;
  target: string;
}

/** The helper as a file of this machine. */
export const hostHelper = (path: string): HelperMount => ({ source: path, target: HELPER_MOUNT });

/** The volume holding one helper binary on an engine, named by its digest so every run can share it. */
export function helperVolumeName(digest: Digest): string {
  return `airlock-helper-${digestHex(digest).slice(0, 32)}`;
}

/** The parts of a policy the hardening speaks about (a service's policy is one too). */
export type HardeningPolicy = Pick<Policy, 'readOnlyRootfs' | 'tmpfs' | 'user' | 'memoryBytes' | 'pids' | 'cpus'>;

export interface HardeningInput {
  policy: HardeningPolicy;
  /** where the static helper comes from, mounted read-only */
  helper?: HelperMount;
  runtime?: string;
  /** an internal (no-egress) network holding the cell's services; without services: none */
  network?: string;
  /** replaces the policy's user (a repro variation) */
  user?: string;
}

/** The rule table's request for a cell or service with this policy. */
export function hardeningRequest({ policy, helper, runtime, network, user }: HardeningInput): HardeningRequest {
  return {
    network: network ?? 'none',
    readOnlyRootfs: policy.readOnlyRootfs,
    tmpfs: policy.tmpfs,
    user: user ?? policy.user,
    memoryBytes: policy.memoryBytes,
    pids: policy.pids,
    cpus: policy.cpus,
    ...(runtime ? { runtime } : {}),
    binds: helper ? [helper] : [],
  };
}

/**
 * The HostConfig and User a cell or service is created with: the rule table's fields,
 * plus what no rule reads back (private IPC, no auto-remove). Only what airlock itself
 * needs is mounted (its helper, read-only); writable space is tmpfs, sized and without
 * setuid or device nodes.
 */
export function hardenedCreate(input: HardeningInput): { HostConfig: Record<string, unknown>; User: string } {
  const { hostConfig, config } = hardenedFields(hardeningRequest(input));
  return { HostConfig: { ...hostConfig, IpcMode: 'private', AutoRemove: false }, User: config.User as string };
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
 * Compares what the engine says it applied with what was asked for. Any difference
 * (an engine that ignores a field, a daemon default that overrides it) is returned so
 * the container is refused before it starts.
 */
export function policyMismatches(input: HardeningInput, hostConfig: ReadbackHostConfig, user: string): string[] {
  return hardeningMismatches(hardeningRequest(input), { hostConfig, user }).map((m) => m.message);
}
