import { AirlockError } from '../errors.js';
import type { Digest } from '../util/digest.js';
import { INPUTS_LOCK_FILE, type InputsLock } from './lock.js';
import type { InputSpec } from './types.js';
import { displayUrl, urlProblem } from './url.js';

const HEX_RE = /^[0-9a-f]{64}$/;

/** The digest an input must have, and who said so (for messages). */
export interface Pin {
  digest: Digest;
  from: 'spec' | 'lock';
}

export interface PlannedInput {
  spec: InputSpec;
  /** undefined: not pinned anywhere; the digest is learned from the download */
  pin: Pin | undefined;
}

/** Checks the inputs themselves; SPEC_INVALID listing every bad field. */
export function checkInputs(inputs: readonly InputSpec[]): void {
  const issues: string[] = [];
  const seen = new Set<string>();
  inputs.forEach((input, i) => {
    const at = `inputs[${i}]`;
    if (typeof input.name !== 'string' || input.name === '') issues.push(`${at}.name: must be a non-empty string`);
    else if (seen.has(input.name)) issues.push(`${at}.name: duplicate input name ${JSON.stringify(input.name)}`);
    else seen.add(input.name);
    const problem = typeof input.url === 'string' ? urlProblem(input.url) : 'must be a string';
    if (problem !== undefined) issues.push(`${at}.url: ${displayUrl(String(input.url))} ${problem}`);
    if (input.sha256 !== undefined && !HEX_RE.test(input.sha256)) {
      issues.push(`${at}.sha256: expected 64 lowercase hex digits, got ${JSON.stringify(input.sha256)}`);
    }
  });
  if (issues.length > 0) {
    throw new AirlockError('SPEC_INVALID', `invalid inputs: ${issues.join('; ')}`, { details: { issues } });
  }
}

/**
 * The effective pin of every input: the spec's sha256, else the lock's, but the lock's only
 * while it was taken from the same URL (a changed URL means the lock entry is stale).
 * Errors, each listing every input concerned:
 * - FETCH_HASH_MISMATCH when the spec and the lock pin the same URL to different digests;
 * - FETCH_NOT_PINNED, when `frozen`, for inputs with no pin (or only a stale one).
 */
export function resolvePins(inputs: readonly InputSpec[], lock: InputsLock, options: { frozen?: boolean } = {}): PlannedInput[] {
  const conflicts: { name: string; spec: Digest; lock: Digest }[] = [];
  const unpinned: { name: string; staleUrl?: string }[] = [];
  const planned = inputs.map((spec): PlannedInput => {
    const entry = lock.inputs[spec.name];
    const locked = entry !== undefined && entry.url === spec.url ? entry : undefined;
    if (spec.sha256 !== undefined) {
      const digest: Digest = `sha256:${spec.sha256}`;
      if (locked !== undefined && locked.sha256 !== spec.sha256) {
        conflicts.push({ name: spec.name, spec: digest, lock: `sha256:${locked.sha256}` });
      }
      return { spec, pin: { digest, from: 'spec' } };
    }
    if (locked !== undefined) return { spec, pin: { digest: `sha256:${locked.sha256}`, from: 'lock' } };
    unpinned.push(entry === undefined ? { name: spec.name } : { name: spec.name, staleUrl: entry.url });
    return { spec, pin: undefined };
  });

  if (conflicts.length > 0) {
    const what = conflicts.map((c) => `input ${c.name}: airlock.yaml pins ${c.spec} but ${INPUTS_LOCK_FILE} pins ${c.lock}`);
    throw new AirlockError(
      'FETCH_HASH_MISMATCH',
      `${what.join('; ')}; fix the spec's sha256 or run \`airlock lock\` after removing the stale lock entry`,
      { details: { reason: 'pin-conflict', conflicts } },
    );
  }
  if (options.frozen && unpinned.length > 0) {
    const what = unpinned.map((u) =>
      u.staleUrl === undefined
        ? `${u.name} (no sha256 in airlock.yaml, no entry in ${INPUTS_LOCK_FILE})`
        : `${u.name} (${INPUTS_LOCK_FILE} pins it for ${displayUrl(u.staleUrl)}, not the spec's URL)`,
    );
    throw new AirlockError(
      'FETCH_NOT_PINNED',
      `frozen: ${unpinned.length === 1 ? 'an input is' : `${unpinned.length} inputs are`} not pinned: ${what.join('; ')}; run \`airlock lock\` or add sha256 to the spec`,
      { details: { inputs: unpinned.map((u) => u.name) } },
    );
  }
  return planned;
}
