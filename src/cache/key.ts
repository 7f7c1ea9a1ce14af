import { canonicalBytes } from '../proof/canonical-json.js';
import { sha256Digest, type Digest } from '../util/digest.js';

/** Bumped whenever what a cached cell means changes, so older entries stop matching. */
export const CELL_FORMAT_VERSION = 1;

/**
 * Everything that can change what a cell produces. Each top-level field is one key
 * component; extra fields (build args, runtime flags, …) become components of their own.
 */
export interface CacheKeyInputs {
  /** normalized rootfs digest of the cell's image */
  rootfsDigest: Digest;
  /** every step's argv, in order, after matrix interpolation */
  argv: string[][];
  env: Record<string, string>;
  /** input files by path → content digest */
  inputs: Record<string, Digest>;
  /** the enforced policy (network, limits, user, …) */
  policy: Record<string, unknown>;
  /** the container runtime (`runc`, `runsc`, `qemu`) */
  runtime: string;
  /** declared output paths */
  outputs: string[];
  /** the expectations, which decide each step's verdict */
  expect: unknown;
  cellFormatVersion: number;
  [more: string]: unknown;
}

export interface CacheKey {
  key: Digest;
  /** component name → sha256 of its RFC 8785 canonical JSON */
  components: Record<string, Digest>;
}

/**
 * The action-cache key of a cell: each top-level component digested on its own, and the
 * key the digest of that component map, all in canonical JSON, so key order never matters
 * and `explain` can tell which component moved by comparing component digests.
 * Components whose value is undefined are left out (an absent optional input).
 */
export function cacheKey(i: CacheKeyInputs): CacheKey {
  const components: Record<string, Digest> = {};
  for (const name of Object.keys(i).sort()) {
    const value = i[name];
    if (value !== undefined) components[name] = sha256Digest(canonicalBytes(value));
  }
  return { key: sha256Digest(canonicalBytes(components)), components };
}
