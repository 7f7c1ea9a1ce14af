import type { Ledger } from '../store/ledger.js';
import type { Cas } from '../store/cas.js';
import type { Digest } from '../util/digest.js';
import { blobsOf, type ActionCache, type CachedCell } from './action-cache.js';

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
