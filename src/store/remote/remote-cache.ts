import type { Readable } from 'node:stream';
import PQueue from 'p-queue';

import { AirlockError, isAirlockError, toAirlockError, type ErrorCode } from '../../errors.js';
import { digestHex, type Digest } from '../../util/digest.js';
import type { RemoteCacheConfig } from './config.js';
import { HttpCache, type CacheNamespace } from './http-cache.js';

/** Something the remote cache could not do, said once to the person running the command. */
export interface RemoteCacheWarning {
  code: ErrorCode;
  message: string;
}

/** What the background uploads came to when the command ended. */
export interface DrainSummary {
  /** entries the server now holds because of this command */
  uploaded: number;
  /** entries the server already held (found by HEAD) */
  present: number;
  failed: number;
  /** uploads never started: the queue was full, or the server became unreachable */
  dropped: number;
  /** uploads still running when the drain's time ran out (abandoned) */
  unfinished: number;
  /** the server was found unreachable (said at the time, once) */
  down: boolean;
}

/** Opens what an upload sends (a blob's local copy, an entry's bytes), with its size. */
export type UploadSource = () => Promise<{ body: Readable | Buffer; size: number }>;

/**
 * The policy around the remote cache, shared by the two-level CAS and action cache: the
 * remote can only ever make a command faster, never fail it.
 *
 * - Unreachable (refused, reset, timed out, or credentials refused) once means down for
 *   the rest of the command: one warning, then every call answers "not there" at once.
 * - Reads answer undefined/false on any failure, with a warning.
 * - Uploads go to a bounded background queue (HEAD first, each entry once per command),
 *   which `drain` waits for, up to a time limit, at the end of the command.
 */
export class RemoteCache {
  readonly config: RemoteCacheConfig;
  readonly #http: HttpCache;
  readonly #warn: (w: RemoteCacheWarning) => void;
  readonly #queue: PQueue;
  // aborts the uploads still running when the drain gives up
  readonly #abandon = new AbortController();
  // namespace/hex → the one upload of it this command (true: the server holds it now)
  readonly #uploads = new Map<string, Promise<boolean>>();
  // every offer not settled yet (uploads, and entries waiting for their blobs)
  readonly #pending = new Set<Promise<unknown>>();
  // namespace/hex whose remote copy was refused (corrupt, untrusted): replaced without asking HEAD
  readonly #refused = new Set<string>();
  // warnings already given, by code and detail: each is said once
  readonly #said = new Set<string>();
  readonly #summary: Omit<DrainSummary, 'down'> = { uploaded: 0, present: 0, failed: 0, dropped: 0, unfinished: 0 };
  #down = false;

  constructor(config: RemoteCacheConfig, warn: (w: RemoteCacheWarning) => void) {
    this.config = config;
    this.#http = new HttpCache(config);
    this.#warn = warn;
    this.#queue = new PQueue({ concurrency: config.uploadConcurrency });
  }

  get down(): boolean {
    return this.#down;
  }

  /**
   * The blob streamed into `store` (which must check it against `d`), true when stored.
   * A blob the server lacks is false; one that does not hash to its name is refused by the
   * store (CAS_CORRUPT), said as a warning, and false too: the caller goes on as on a miss.
   */
  async pullBlob(d: Digest, store: (body: Readable) => Promise<unknown>): Promise<boolean> {
    if (this.#down) return false;
    try {
      const body = await this.#http.get('cas', digestHex(d), this.config.maxBlobBytes);
      if (body === undefined) return false;
      try {
        await store(body);
      } finally {
        body.destroy();
      }
      return true;
    } catch (e) {
      const err = this.#classify(e);
      if (err.code === 'CAS_CORRUPT') {
        this.refused('cas', digestHex(d));
        this.warnOnce(`corrupt:${d}`, 'CAS_CORRUPT', `the remote cache's copy of ${d} is corrupt (${err.message}): refused, not used`);
      } else {
        this.#failed(err);
      }
      return false;
    }
  }

  /** An entry's bytes (bounded by maxEntryBytes), or undefined when absent or on any failure. */
  async getEntry(ns: CacheNamespace, hex: string): Promise<Buffer | undefined> {
    if (this.#down) return undefined;
    try {
      return await this.#http.getBytes(ns, hex, this.config.maxEntryBytes);
    } catch (e) {
      this.#failed(this.#classify(e));
      return undefined;
    }
  }

  /** Uploads the blob in the background unless the server has it; the promise says whether it holds it now. */
  offerBlob(d: Digest, source: UploadSource): Promise<boolean> {
    return this.#offer('cas', digestHex(d), source);
  }

  /**
   * Uploads an entry unless the server holds it, in the background: first its blobs
   * (`blobs` starts their offers), then, only when the server holds every one, the entry
   * itself, so no reader ever finds an entry whose bytes are not there yet.
   */
  offerEntry(ns: CacheNamespace, hex: string, bytes: Buffer, blobs: () => Promise<boolean>[]): void {
    const id = `${ns}/${hex}`;
    if (this.#uploads.has(id)) return;
    const upload = (async () => {
      const held = await this.#queued(() => this.#holds(ns, hex));
      if (held === undefined) return false;
      if (held) {
        this.#summary.present += 1;
        return true;
      }
      if (!(await Promise.all(blobs())).every(Boolean)) {
        this.#summary.dropped += 1;
        return false;
      }
      return (await this.#queued(() => this.#put(ns, hex, async () => ({ body: bytes, size: bytes.length })))) ?? false;
    })();
    this.#uploads.set(id, upload);
    this.#track(upload);
  }

  /**
   * Waits for the background uploads, at most `drainMs`, then abandons what still runs and
   * closes the connections. Failures were said as warnings already; the summary counts them.
   */
  async drain(): Promise<DrainSummary> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.config.drainMs);
    });
    const settled = (async () => {
      while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    })();
    const outcome = await Promise.race([settled, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.#summary.unfinished = this.#pending.size;
      this.#abandon.abort(new AirlockError('REMOTE_CACHE_UNAVAILABLE', `uploads to ${this.config.shown} did not finish in ${this.config.drainMs} ms`));
      this.warnOnce('drain', 'REMOTE_CACHE_UNAVAILABLE', `${this.#summary.unfinished} uploads to the remote cache ${this.config.shown} did not finish in ${Math.round(this.config.drainMs / 1000)} s: abandoned`);
    }
    await this.#http.close();
    return { ...this.#summary, down: this.#down };
  }

  /**
   * Marks the remote copy of an entry as refused (a blob not matching its name, an entry no
   * trusted key signed): an upload of it this command replaces it instead of trusting HEAD.
   */
  refused(ns: CacheNamespace, hex: string): void {
    this.#refused.add(`${ns}/${hex}`);
  }

  /** Whether the server holds the entry, as far as an upload should believe it. */
  async #holds(ns: CacheNamespace, hex: string): Promise<boolean> {
    return !this.#refused.has(`${ns}/${hex}`) && (await this.#http.has(ns, hex, this.#abandon.signal));
  }

  /** Says a warning once per `key` (the same corrupt blob met twice is one warning). */
  warnOnce(key: string, code: ErrorCode, message: string): void {
    if (this.#said.has(key)) return;
    this.#said.add(key);
    this.#warn({ code, message });
  }

  #offer(ns: CacheNamespace, hex: string, source: UploadSource): Promise<boolean> {
    const id = `${ns}/${hex}`;
    const known = this.#uploads.get(id);
    if (known) return known;
    const upload = this.#queued(async () => {
      if (await this.#holds(ns, hex)) {
        this.#summary.present += 1;
        return true;
      }
      return this.#put(ns, hex, source);
    }).then((held) => held ?? false);
    this.#uploads.set(id, upload);
    this.#track(upload);
    return upload;
  }

  /**
   * Runs one request of an upload in the bounded queue; undefined when it did not run (the
   * queue full, the server down, the drain over) or failed (said as a warning).
   */
  async #queued<T>(task: () => Promise<T>): Promise<T | undefined> {
    if (this.#down || this.#abandon.signal.aborted || this.#queue.size >= this.config.maxQueuedUploads) {
      this.#summary.dropped += 1;
      return undefined;
    }
    try {
      return await this.#queue.add(
        async () => {
          // the server may have gone down while this waited
          if (this.#down) {
            this.#summary.dropped += 1;
            return undefined;
          }
          return task();
        },
        { signal: this.#abandon.signal },
      );
    } catch (e) {
      if (this.#abandon.signal.aborted) return undefined;
      this.#summary.failed += 1;
      this.#failed(this.#classify(e));
      return undefined;
    }
  }

  async #put(ns: CacheNamespace, hex: string, source: UploadSource): Promise<boolean> {
    const { body, size } = await source();
    if (size > this.config.maxBlobBytes) {
      if (!Buffer.isBuffer(body)) body.destroy();
      this.#summary.dropped += 1;
      return false;
    }
    await this.#http.put(ns, hex, body, size, this.#abandon.signal);
    this.#summary.uploaded += 1;
    return true;
  }

  #track(p: Promise<unknown>): void {
    const settled = p.catch(() => undefined).finally(() => this.#pending.delete(settled));
    this.#pending.add(settled);
  }

  /** Errors raised while a body streams are undici's own: the server went away mid-transfer. */
  #classify(e: unknown): AirlockError {
    if (isAirlockError(e)) return e;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('UND_ERR') || code === 'ECONNRESET' || code === 'EPIPE') {
      return new AirlockError('REMOTE_CACHE_UNAVAILABLE', `the remote cache ${this.config.shown} went away (${code})`, { cause: e, details: { reason: code } });
    }
    return toAirlockError(e);
  }

  /** Unreachable or refusing our credentials: down for the rest of the command. Anything else: said once per kind. */
  #failed(err: AirlockError): void {
    const status = err.details.status;
    if (err.code === 'REMOTE_CACHE_UNAVAILABLE' || status === 401 || status === 403) {
      if (this.#down) return;
      // uploads still queued see this and end at once
      this.#down = true;
      this.warnOnce('down', err.code, `${err.message}: going on with the local cache only`);
      return;
    }
    this.warnOnce(`${err.code}:${String(status ?? err.message)}`, err.code, `remote cache: ${err.message}`);
  }
}
