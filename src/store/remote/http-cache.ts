import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';

import { AirlockError, isAirlockError } from '../../errors.js';
import { AIRLOCK_VERSION } from '../../version.js';
import type { RemoteCacheConfig } from './config.js';

/** The two namespaces of Bazel's HTTP remote-cache protocol: blobs by sha256, action results by key. */
export type CacheNamespace = 'cas' | 'ac';

/**
 * A client of Bazel's HTTP remote-cache protocol (what bazel-remote and nginx with WebDAV
 * PUT serve): `GET`, `HEAD` and `PUT` on `<base>/cas/<sha256 hex>` and `<base>/ac/<hex key>`.
 *
 * Every failure is coded: the server unreachable (refused, reset, timed out) is
 * REMOTE_CACHE_UNAVAILABLE, any other answer than the protocol's is REMOTE_CACHE_ERROR with
 * its status. Messages name the shown URL, never the credentials.
 */
export class HttpCache {
  readonly #config: RemoteCacheConfig;
  // one pool for the whole command, closed by close(): a keep-alive socket would hold the process open
  readonly #agent: Agent;

  constructor(config: RemoteCacheConfig) {
    this.#config = config;
    this.#agent = new Agent({ connect: { timeout: config.timeoutMs }, connections: config.uploadConcurrency + 4 });
  }

  /** Whether the server holds the entry. */
  async has(ns: CacheNamespace, hex: string, signal?: AbortSignal): Promise<boolean> {
    const res = await this.#request('HEAD', ns, hex, { signal });
    await res.body.dump();
    return this.#found(res, 'HEAD', ns, hex);
  }

  /**
   * The entry's body as a stream, or undefined when the server does not hold it. The caller
   * must consume or destroy the stream. A declared length above `maxBytes` is refused before
   * any byte is read; the caller still bounds what it reads (a server may not declare one).
   */
  async get(ns: CacheNamespace, hex: string, maxBytes: number, signal?: AbortSignal): Promise<Readable | undefined> {
    const res = await this.#request('GET', ns, hex, { signal });
    if (!this.#found(res, 'GET', ns, hex)) {
      await res.body.dump();
      return undefined;
    }
    const length = Number(res.headers['content-length']);
    if (Number.isFinite(length) && length > maxBytes) {
      res.body.destroy();
      throw new AirlockError('REMOTE_CACHE_ERROR', `${this.#where(ns, hex)} is ${length} bytes, more than airlock reads (${maxBytes})`, {
        details: { url: this.#where(ns, hex), size: length, maxBytes },
      });
    }
    return res.body;
  }

  /** The whole entry in memory (bounded), or undefined when the server does not hold it. */
  async getBytes(ns: CacheNamespace, hex: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer | undefined> {
    const body = await this.get(ns, hex, maxBytes, signal);
    if (body === undefined) return undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        body.destroy();
        throw new AirlockError('REMOTE_CACHE_ERROR', `${this.#where(ns, hex)} is more than airlock reads (${maxBytes} bytes)`, {
          details: { url: this.#where(ns, hex), maxBytes },
        });
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  /** Stores the entry (any 2xx is success: WebDAV answers 201 for new, 204 for replaced). */
  async put(ns: CacheNamespace, hex: string, body: Readable | Buffer, size: number, signal?: AbortSignal): Promise<void> {
    const res = await this.#request('PUT', ns, hex, { signal, body, size });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode > 299) throw this.#status(res.statusCode, 'PUT', ns, hex);
  }

  async close(): Promise<void> {
    await this.#agent.destroy();
  }

  #where(ns: CacheNamespace, hex: string): string {
    return `${this.#config.shown}/${ns}/${hex}`;
  }

  #found(res: Dispatcher.ResponseData, method: string, ns: CacheNamespace, hex: string): boolean {
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw this.#status(res.statusCode, method, ns, hex);
  }

  #status(status: number, method: string, ns: CacheNamespace, hex: string): AirlockError {
    const auth = status === 401 || status === 403 ? ' (check AIRLOCK_REMOTE_CACHE credentials)' : '';
    return new AirlockError('REMOTE_CACHE_ERROR', `${method} ${this.#where(ns, hex)}: HTTP ${status} ${STATUS_CODES[status] ?? ''}${auth}`.trimEnd(), {
      details: { url: this.#where(ns, hex), method, status },
    });
  }

  async #request(
    method: 'GET' | 'HEAD' | 'PUT',
    ns: CacheNamespace,
    hex: string,
    o: { signal: AbortSignal | undefined; body?: Readable | Buffer; size?: number },
  ): Promise<Dispatcher.ResponseData> {
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new TypeError(`Expected a 64-digit lowercase hex name, got \`${hex}\``);
    const headers: Record<string, string> = { 'user-agent': `airlock/${AIRLOCK_VERSION}`, 'accept-encoding': 'identity' };
    if (this.#config.authorization) headers.authorization = this.#config.authorization;
    if (o.size !== undefined) headers['content-length'] = String(o.size);
    try {
      return await request(new URL(`${ns}/${hex}`, this.#config.base), {
        dispatcher: this.#agent,
        method,
        headers,
        headersTimeout: this.#config.timeoutMs,
        bodyTimeout: this.#config.timeoutMs,
        ...(o.body ? { body: o.body } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } catch (e) {
      if (isAirlockError(e) || o.signal?.aborted) throw e;
      const code = (e as { code?: unknown }).code;
      const reason = typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
      throw new AirlockError('REMOTE_CACHE_UNAVAILABLE', `cannot reach the remote cache ${this.#config.shown} (${reason})`, {
        cause: e,
        details: { url: this.#config.shown, reason },
      });
    }
  }
}
