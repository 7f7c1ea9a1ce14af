import type { Ledger } from '../store/ledger.js';
import type { Cas } from '../store/cas.js';
import type { Digest } from '../util/digest.js';
import type { ActionCache, CachedCell } from './action-cache.js';

/** Every blob a cached cell would replay: logs and output files. */
function blobsOf(cell: CachedCell): Digest[] {
  return [
    ...cell.steps.flatMap((s) => [s.stdout?.digest, s.stderr?.digest]),
    ...cell.outputs.flatMap((o) => o.entries.map((e) => e.digest)),
  ].filter((d): d is Digest => d !== undefined);
}

/**
 * The action cache, persisted in the ledger. An entry whose blobs are no longer
 * all in the CAS (a pruned or corrupted store) is a miss: a hit must be able to
 * replay every byte it claims.
 */
export class LedgerActionCache implements ActionCache {
  constructor(
    private readonly ledger: Ledger,
    private readonly cas: Cas,
  ) {}

  async get(key: Digest): Promise<CachedCell | undefined> {
    const entry = this.ledger.getCacheEntry(key);
    if (entry === undefined) return undefined;
    const cell = JSON.parse(entry) as CachedCell;
    for (const d of blobsOf(cell)) if (!(await this.cas.has(d))) return undefined;
    return cell;
  }

  async put(key: Digest, cell: CachedCell): Promise<void> {
    this.ledger.putCacheEntry(key, cell.cell, JSON.stringify({ ...cell, key }));
  }

  async latest(cell: string): Promise<CachedCell | undefined> {
    const entry = this.ledger.latestCacheEntry(cell);
    return entry === undefined ? undefined : (JSON.parse(entry) as CachedCell);
  }
}
