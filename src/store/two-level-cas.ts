import type { Readable } from 'node:stream';

import type { Digest } from '../util/digest.js';
import { Cas, type BlobRef, type PutOptions } from './cas.js';
import type { RemoteCache } from './remote/remote-cache.js';

/**
 * The workspace's CAS with the shared remote cache behind it, so everything that stores or
 * looks for bytes (base .debs, fetched inputs, build contexts, logs, outputs) uses the remote
 * without knowing it:
 *
 * - `has`, `readBytes` and `size` look locally first; on a miss they bring the blob from the
 *   remote into the local store, checked against its name (a corrupt copy is refused and is a
 *   miss). After `has` answers true the blob is local, so `pathOf` and `createReadStream`,
 *   which are synchronous and never ask the remote, can follow it.
 * - every `put` (and `putFile`) also offers the blob to the remote, in the background.
 */
export class TwoLevelCas extends Cas {
  readonly remote: RemoteCache;
  // digests the remote lacked this command: asked once, not on every `has`
  readonly #absent = new Set<Digest>();
  // pulls under way, so concurrent lookups of one blob download it once
  readonly #pulling = new Map<Digest, Promise<boolean>>();

  private constructor(root: string, remote: RemoteCache) {
    super(root);
    this.remote = remote;
  }

  /** Opens the local store as `Cas.open` does (layout, crashed temp files), with `remote` behind it. */
  static async over(root: string, remote: RemoteCache): Promise<TwoLevelCas> {
    await Cas.open(root);
    return new TwoLevelCas(root, remote);
  }

  override async has(d: Digest): Promise<boolean> {
    return (await super.has(d)) || this.#pull(d);
  }

  override async put(src: Readable | Uint8Array | string, options: PutOptions = {}): Promise<BlobRef> {
    const ref = await super.put(src, options);
    void this.offer(ref.digest);
    return ref;
  }

  override async readBytes(d: Digest, options: { maxBytes?: number } = {}): Promise<Buffer> {
    await this.has(d);
    return super.readBytes(d, options);
  }

  override async size(d: Digest): Promise<number> {
    await this.has(d);
    return super.size(d);
  }

  /**
   * Uploads a local blob to the remote unless it holds it (once per command, in the
   * background); the promise says whether the remote holds it now. Never rejects.
   */
  offer(d: Digest): Promise<boolean> {
    this.#absent.delete(d);
    return this.remote.offerBlob(d, async () => ({ body: super.createReadStream(d), size: await super.size(d) }));
  }

  #pull(d: Digest): Promise<boolean> {
    if (this.#absent.has(d) || this.remote.down) return Promise.resolve(false);
    let pull = this.#pulling.get(d);
    if (!pull) {
      pull = this.remote
        .pullBlob(d, (body) => super.put(body, { expectedDigest: d, maxBytes: this.remote.config.maxBlobBytes }))
        .then((stored) => {
          if (!stored) this.#absent.add(d);
          return stored;
        })
        .finally(() => this.#pulling.delete(d));
      this.#pulling.set(d, pull);
    }
    return pull;
  }
}
