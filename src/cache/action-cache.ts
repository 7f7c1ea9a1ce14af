import type { OutputEntry } from '../archive/extract.js';
import type { Digest } from '../util/digest.js';
import type { CacheKeyInputs } from './key.js';

/** A captured stream, in the CAS. */
export interface CachedStream {
  digest: Digest;
  size: number;
}

export interface CachedStep {
  name: string;
  verdict: 'pass' | 'fail' | 'timeout' | 'skipped';
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** absent for a step that never ran */
  stdout?: CachedStream;
  stderr?: CachedStream;
}

/** One declared output path and what was collected from it. */
export interface CachedOutput {
  path: string;
  entries: OutputEntry[];
}

/** The signed record a cached result was taken from, so a hit can be traced and verified. */
export interface CachedSource {
  runId: string;
  bundleDir: string;
  /** `seq` of the transcript event that recorded the cell's result */
  transcriptSeq: number;
  /**
   * Set when the entry came from the shared remote cache: the bundle above is on the machine
   * that proved the cell, and this says which cache (URL as shown) and which trusted key vouched.
   */
  remote?: RemoteSource;
}

export interface RemoteSource {
  /** the remote cache's URL as shown (no credentials) */
  cache: string;
  /** the trusted key whose signature over the entry verified */
  keyid: string;
}

/**
 * What a cache hit replays instead of running the cell: verdicts, exit codes, logs and
 * outputs by digest (the bytes stay in the CAS), and where it was first proven.
 */
export interface CachedCell {
  key: Digest;
  /** the cell's identity across runs (environment and cell id), used to find its last entry */
  cell: string;
  /** the inputs the key was computed from, kept so `airlock explain` can diff a miss */
  inputs: CacheKeyInputs;
  cellFormatVersion: number;
  steps: CachedStep[];
  outputs: CachedOutput[];
  durationMs: number;
  source: CachedSource;
  /** ISO 8601, UTC */
  storedAt: string;
}

/** Every blob a cached cell would replay: logs and output files. */
export function blobsOf(cell: CachedCell): Digest[] {
  return [
    ...cell.steps.flatMap((s) => [s.stdout?.digest, s.stderr?.digest]),
    ...cell.outputs.flatMap((o) => o.entries.map((e) => e.digest)),
  ].filter((d): d is Digest => d !== undefined);
}

/**
 * The action cache: key → cached cell. `latest` finds a cell's most recent entry under any
 * key, which is what `airlock explain` diffs a miss against. Implementations must store
 * only results whose blobs are in the CAS, and should store only passing cells.
 */
export interface ActionCache {
  get(key: Digest): Promise<CachedCell | undefined>;
  put(key: Digest, cell: CachedCell): Promise<void>;
  latest(cell: string): Promise<CachedCell | undefined>;
}

/** An in-memory cache, for tests and `--no-persist` runs. */
export class MemoryActionCache implements ActionCache {
  // Entries are cloned in and out, so callers can never change what is stored.
  readonly #byKey = new Map<Digest, CachedCell>();
  // cell identity → key of its most recent put
  readonly #latest = new Map<string, Digest>();

  async get(key: Digest): Promise<CachedCell | undefined> {
    const hit = this.#byKey.get(key);
    return hit && structuredClone(hit);
  }

  async put(key: Digest, cell: CachedCell): Promise<void> {
    this.#byKey.set(key, structuredClone({ ...cell, key }));
    this.#latest.set(cell.cell, key);
  }

  async latest(cell: string): Promise<CachedCell | undefined> {
    const key = this.#latest.get(cell);
    return key === undefined ? undefined : this.get(key);
  }
}
