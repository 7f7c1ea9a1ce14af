import PQueue from 'p-queue';

import { loadTrustedKeys, type PublicKey, type SigningKey } from '../proof/keys.js';
import type { TwoLevelCas } from '../store/two-level-cas.js';
import { digestHex, type Digest } from '../util/digest.js';
import { blobsOf, type ActionCache, type CachedCell } from './action-cache.js';
import { isRefusedEntry, openCachedCell, sealCachedCell } from './signed-entry.js';

/** Blobs of one remote entry fetched at once. */
const PULL_CONCURRENCY = 8;

export interface TwoLevelActionCacheOptions {
  /** the workspace's own cache (the ledger) */
  local: ActionCache;
  /** the workspace's CAS, with the same remote cache behind it */
  cas: TwoLevelCas;
  /** signs what this command publishes: the key of the run */
  signer: SigningKey;
  /** the project's locks/, whose keys/ says whose entries to take */
  locksDir: string;
}

/**
 * The action cache with the shared remote cache behind it.
 *
 * A local miss asks the remote for `ac/<key hex>`: an entry is taken only when it opens
 * (signed-entry.ts: signed by a trusted key, the entry of this very key) and every blob it
 * names comes back matching its digest; then it is kept in the local ledger, its source
 * saying which remote cache and which key it came from. Anything else is a miss, said once
 * as a warning. Trusted keys: the project's `locks/keys/`, and the run's own signing key (an
 * entry it signed is one this machine's runs could have written to the ledger themselves).
 *
 * What this command proves (`put`) and what it replays from the ledger (`get` hits not from
 * the remote) is offered to the remote in the background, signed by the run's key.
 */
export class TwoLevelActionCache implements ActionCache {
  readonly #o: TwoLevelActionCacheOptions;
  #trusted: Promise<PublicKey[]> | undefined;

  constructor(options: TwoLevelActionCacheOptions) {
    this.#o = options;
  }

  async get(key: Digest): Promise<CachedCell | undefined> {
    const hit = await this.#o.local.get(key);
    if (hit) {
      if (!hit.source.remote) this.#publish(key, hit);
      return hit;
    }
    const { remote } = this.#o.cas;
    const bytes = await remote.getEntry('ac', digestHex(key));
    if (bytes === undefined) return undefined;
    let opened: ReturnType<typeof openCachedCell>;
    try {
      opened = openCachedCell(bytes, key, await this.#trustedKeys());
    } catch (e) {
      if (!isRefusedEntry(e)) throw e;
      remote.refused('ac', digestHex(key));
      remote.warnOnce(`entry:${key}`, e.code, `remote cache entry ${key} refused: ${e.message}`);
      return undefined;
    }
    const queue = new PQueue({ concurrency: PULL_CONCURRENCY });
    const present = await queue.addAll(blobsOf(opened.cell).map((d) => () => this.#o.cas.has(d)));
    if (!present.every(Boolean)) {
      remote.warnOnce(`entry-blobs:${key}`, 'REMOTE_CACHE_ERROR', `remote cache entry ${key} names blobs the remote cache cannot give intact: not used`);
      return undefined;
    }
    const cell: CachedCell = { ...opened.cell, source: { ...opened.cell.source, remote: { cache: remote.config.shown, keyid: opened.keyid } } };
    await this.#o.local.put(key, cell);
    return cell;
  }

  async put(key: Digest, cell: CachedCell): Promise<void> {
    await this.#o.local.put(key, cell);
    this.#publish(key, { ...cell, key });
  }

  latest(cell: string): Promise<CachedCell | undefined> {
    return this.#o.local.latest(cell);
  }

  /** Never throws: publishing is a favour to other runners, not part of this cell's result. */
  #publish(key: Digest, cell: CachedCell): void {
    const { cas, signer } = this.#o;
    try {
      cas.remote.offerEntry('ac', digestHex(key), sealCachedCell(cell, signer), () => blobsOf(cell).map((d) => cas.offer(d)));
    } catch (e) {
      cas.remote.warnOnce(`publish:${key}`, 'REMOTE_CACHE_ERROR', `cannot publish the cache entry ${key}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  #trustedKeys(): Promise<PublicKey[]> {
    // the public half only: trust material never carries a private seed
    const own: PublicKey = { keyid: this.#o.signer.keyid, publicKey: this.#o.signer.publicKey };
    this.#trusted ??= loadTrustedKeys(this.#o.locksDir).then(
      (keys) => [...keys.filter((k) => k.keyid !== own.keyid), own],
      (e: unknown) => {
        this.#o.cas.remote.warnOnce('trusted-keys', 'TRUSTED_KEY_INVALID', `cannot read the trusted keys in locks/keys/ (${e instanceof Error ? e.message : String(e)}): remote cache entries are taken only when signed by this run's key`);
        return [own];
      },
    );
    return this.#trusted;
  }
}
