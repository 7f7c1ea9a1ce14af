import { HELPER_DIR, helperVolumeName, hostHelper, type HelperMount } from '../engine/hardening.js';
import { hardeningMismatches, isRootUser, type HardeningRequest } from '../engine/hardening-rules.js';
import type { EventData, TypedEvent } from '../proof/transcript-events.js';
import { BUNDLE_FILES } from '../proof/manifest.js';
import type { Digest } from '../util/digest.js';
import { verifyError } from './fail.js';

/**
 * A recorded container (a cell's or a service's) ran hardened: its read-back, judged
 * by the same rule table that created it, against the policy its event records; and
 * that policy no looser than what the policy's own `loosened` allows.
 */

type Policy = EventData<'container'>['policy'];

export interface Subject {
  /** the cell id (`env` of container events, `cell` of service events) */
  env: string;
  seq: number;
  /** "container event", "service db" */
  what: string;
}

/** The networks cells created, by cell id: a service or cell may use only its own, and only an internal one. */
export function cellNetworks(events: readonly TypedEvent[]): Map<string, EventData<'network'>> {
  return new Map(events.flatMap((e) => (e.phase === 'network' ? [[e.data.cell, e.data] as const] : [])));
}

/** The helper every cell mounts, from the environment event: its host path and digest. */
export function helperOf(events: readonly TypedEvent[]): { path: string; digest: Digest } | undefined {
  for (const e of events) if (e.phase === 'environment') return { path: e.data.helper.path, digest: e.data.helper.digest };
  return undefined;
}

/**
 * How a container mounted the helper: the host's file, or (on a node that cannot see it,
 * as its event says) the volume named for that same helper's digest at HELPER_DIR, nothing else.
 */
export function helperMountOf(s: Subject, helper: { path: string; digest: Digest } | undefined, recorded: HelperMount | undefined): HelperMount | undefined {
  if (!recorded) return helper ? hostHelper(helper.path) : undefined;
  const expected = helper ? { source: helperVolumeName(helper.digest), target: HELPER_DIR } : undefined;
  if (!expected || recorded.source !== expected.source || recorded.target !== expected.target) {
    throw fail(s, 'Binds', `mounted ${recorded.source} at ${recorded.target} as its helper, expected ${expected ? `the volume ${expected.source} at ${expected.target}` : 'no helper'}`, { actual: recorded, expected: expected ?? null });
  }
  return recorded;
}

function fail(s: Subject, field: string, message: string, extra: Record<string, unknown> = {}) {
  return verifyError('POLICY_NOT_ENFORCED', `environment ${s.env}, ${s.what} seq ${s.seq}: ${message}`, `${s.env}: ${field}`, `${BUNDLE_FILES.transcript} seq ${s.seq}`, {
    env: s.env,
    field,
    seq: s.seq,
    ...extra,
  });
}

/**
 * The network a container may have been on: none, or the network event of its own cell,
 * which must have been read back internal (no egress).
 */
export function allowedNetwork(s: Subject, networkMode: unknown, own: EventData<'network'> | undefined): string {
  if (networkMode === 'none' || networkMode === undefined || networkMode === null) return 'none';
  if (!own || own.name !== networkMode) {
    throw fail(s, 'NetworkMode', `NetworkMode is ${JSON.stringify(networkMode)}, expected "none" or the cell's own internal network${own ? ` (${own.name})` : ''}`, { actual: networkMode });
  }
  if (own.readback.Internal !== true) throw fail(s, 'NetworkMode', `network ${own.name} was not read back internal: it had egress`, { actual: networkMode });
  return own.name;
}

/** The request the event's policy stands for, after checking it loosens nothing its `loosened` does not name. */
export function requestOf(s: Subject, policy: Policy, opts: { network: string; runtime?: string; helper?: HelperMount; user?: string }): HardeningRequest {
  const loosened = new Set(policy.loosened);
  const user = opts.user ?? policy.user;
  if (!policy.readOnlyRootfs && !loosened.has('readOnlyRootfs')) throw fail(s, 'ReadonlyRootfs', 'the policy has a writable root but does not loosen readOnlyRootfs', { actual: false });
  if (isRootUser(user) && !loosened.has('user')) throw fail(s, 'User', `runs as ${JSON.stringify(user)} (root) but the policy does not loosen user`, { actual: user });
  return {
    network: opts.network,
    readOnlyRootfs: policy.readOnlyRootfs,
    tmpfs: policy.tmpfs,
    user,
    memoryBytes: policy.memoryBytes,
    pids: policy.pids,
    cpus: policy.cpus,
    ...(opts.runtime ? { runtime: opts.runtime } : {}),
    binds: opts.helper ? [opts.helper] : [],
  };
}

/** The first rule of the table the read-back breaks, as POLICY_NOT_ENFORCED. */
export function checkReadback(s: Subject, request: HardeningRequest, hostConfig: Record<string, unknown>, user: string): void {
  const [first] = hardeningMismatches(request, { hostConfig, user });
  if (first) throw fail(s, first.field, first.message, { actual: first.actual, expected: first.expected });
}
