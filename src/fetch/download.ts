import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';

import { AirlockError, isAirlockError } from '../errors.js';
import type { BlobRef, Cas } from '../store/cas.js';
import type { Digest } from '../util/digest.js';
import { AIRLOCK_VERSION } from '../version.js';
import { parseRetryAfter, type FailureReason } from './retry.js';
import { displayUrl, urlProblem } from './url.js';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const UNDICI_TIMEOUTS: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'connecting to',
  UND_ERR_HEADERS_TIMEOUT: 'waiting for response headers from',
  UND_ERR_BODY_TIMEOUT: 'with no data received from',
};

export interface AttemptOptions {
  cas: Cas;
  dispatcher: Dispatcher;
  timeoutMs: number;
  maxRedirects: number;
  maxBytes: number;
  /** the pin; undefined to learn the digest */
  expected: Digest | undefined;
  signal: AbortSignal | undefined;
  onRedirect: (from: string, to: string, status: number) => void;
  onBytes: (received: number, total: number | undefined) => void;
}

export interface AttemptResult {
  ref: BlobRef;
  finalUrl: URL;
}

/**
 * One attempt: GET `url`, following redirects up to the bound, streaming the body into the
 * CAS (which hashes it and stores it under its digest only when it matches `expected`).
 * Failures are FETCH_FAILED with `details.reason` (see `isRetryable`), FETCH_HASH_MISMATCH,
 * the store's own errors, or the caller's abort reason. Nothing is left in the CAS on failure.
 */
export async function downloadOnce(url: URL, o: AttemptOptions): Promise<AttemptResult> {
  const visited = [url.href];
  let current = url;
  for (;;) {
    const hop = await getOnce(current, o);
    if (hop.kind === 'stored') return { ref: hop.ref, finalUrl: current };
    const chain = [...visited, hop.to.href].map((u) => displayUrl(u)).join(' -> ');
    if (visited.includes(hop.to.href)) {
      throw failure('redirect', `redirect loop: ${chain}`, { chain: visited.map((u) => displayUrl(u)) });
    }
    if (visited.length > o.maxRedirects) {
      throw failure('redirect', `too many redirects (more than ${o.maxRedirects}): ${chain}`, { maxRedirects: o.maxRedirects });
    }
    o.onRedirect(displayUrl(current), displayUrl(hop.to), hop.status);
    visited.push(hop.to.href);
    current = hop.to;
  }
}

type Hop = { kind: 'redirect'; to: URL; status: number } | { kind: 'stored'; ref: BlobRef };

async function getOnce(url: URL, o: AttemptOptions): Promise<Hop> {
  o.signal?.throwIfAborted();
  const shown = displayUrl(url);
  // one controller per request: the caller's abort, our own timeouts, and the CAS write all hang off it
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(o.signal!.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const watchdog = new Watchdog(o.timeoutMs, (phase) =>
    ac.abort(failure('timeout', `timed out after ${o.timeoutMs}ms ${phase} ${shown}`, { url: shown, timeoutMs: o.timeoutMs })),
  );
  try {
    watchdog.arm('waiting for a response from');
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        dispatcher: o.dispatcher,
        method: 'GET',
        signal: ac.signal,
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
        // the pin is over the bytes as served: no on-the-fly compression
        headers: { 'accept-encoding': 'identity', 'user-agent': `airlock/${AIRLOCK_VERSION}` },
      });
    } catch (e) {
      throw classify(e, { ac, o, shown, received: undefined });
    }
    const { statusCode: status, headers, body } = res;

    if (REDIRECT_STATUSES.has(status)) {
      await discard(body);
      const location = header(headers, 'location');
      if (location === undefined) throw failure('redirect', `HTTP ${status} from ${shown} has no Location header`, { url: shown, status });
      let to: URL;
      try {
        to = new URL(location, url);
      } catch {
        throw failure('redirect', `HTTP ${status} from ${shown} redirects to an unreadable Location`, { url: shown, status });
      }
      const problem = urlProblem(to);
      if (problem !== undefined) throw failure('redirect', `${shown} redirects to ${displayUrl(to)}, which ${problem}`, { url: shown, status });
      return { kind: 'redirect', to, status };
    }
    if (status !== 200) {
      await discard(body);
      const retryAfterMs = parseRetryAfter(headers['retry-after']);
      throw failure('status', `HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''} from ${shown}`, {
        url: shown,
        status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }

    const total = contentLength(headers);
    if (total !== undefined && total > o.maxBytes) {
      drop(body);
      throw tooLarge(shown, o.maxBytes, total);
    }
    watchdog.arm('with no data received from');
    const received = { bytes: 0 };
    const metered = Readable.from(
      meter(body, total, shown, received, (n) => {
        watchdog.arm('with no data received from');
        o.onBytes(n, total);
      }, () => watchdog.stop()),
    );
    try {
      const ref = await o.cas.put(metered, { expectedDigest: o.expected, maxBytes: o.maxBytes, signal: ac.signal });
      return { kind: 'stored', ref };
    } catch (e) {
      drop(body); // the CAS may have failed before the body was ever read
      throw classify(e, { ac, o, shown, received: received.bytes });
    }
  } finally {
    watchdog.stop();
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Passes the body through, counting: a body that ends short of its Content-Length, or breaks
 * off, is "truncated" (retryable) rather than a hash mismatch.
 */
async function* meter(
  body: AsyncIterable<Buffer>,
  total: number | undefined,
  shown: string,
  received: { bytes: number },
  onChunk: (received: number) => void,
  onEnd: () => void,
): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of body) {
      received.bytes += chunk.byteLength;
      onChunk(received.bytes);
      yield chunk;
    }
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code in UNDICI_TIMEOUTS) throw e; // classified by the caller
    throw truncated(shown, received.bytes, total, describeError(e));
  }
  onEnd();
  if (total !== undefined && received.bytes !== total) throw truncated(shown, received.bytes, total, 'connection closed early');
}

interface ClassifyContext {
  ac: AbortController;
  o: AttemptOptions;
  shown: string;
  /** bytes of body received; undefined before the response headers */
  received: number | undefined;
}

/** Turns whatever a request or a CAS write threw into the error the caller should see. */
function classify(e: unknown, { ac, o, shown, received }: ClassifyContext): unknown {
  if (o.signal?.aborted) return o.signal.reason;
  if (ac.signal.aborted) return ac.signal.reason;
  if (isAirlockError(e)) {
    if (e.code === 'CAS_CORRUPT') {
      const { expected, actual, size } = e.details as { expected: Digest; actual: Digest; size: number };
      return new AirlockError('FETCH_HASH_MISMATCH', `content of ${shown} hashes to ${actual}, expected ${expected}; nothing was stored`, {
        details: { url: shown, expected, actual, size },
      });
    }
    if (e.code === 'CAS_IO' && e.details.maxBytes !== undefined) return tooLarge(shown, o.maxBytes, undefined);
    return e;
  }
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code in UNDICI_TIMEOUTS) {
    return failure('timeout', `timed out after ${o.timeoutMs}ms ${UNDICI_TIMEOUTS[code]} ${shown}`, { url: shown, timeoutMs: o.timeoutMs });
  }
  if (received !== undefined) return truncated(shown, received, undefined, describeError(e));
  return failure('network', `cannot fetch ${shown}: ${describeError(e)}`, { url: shown }, e);
}

export function failure(reason: FailureReason, message: string, details: Record<string, unknown> = {}, cause?: unknown): AirlockError {
  return new AirlockError('FETCH_FAILED', message, { details: { reason, ...details }, ...(cause === undefined ? {} : { cause }) });
}

function truncated(shown: string, received: number, total: number | undefined, why: string): AirlockError {
  const of = total === undefined ? '' : ` of ${total}`;
  return failure('truncated', `truncated transfer from ${shown}: ${why} after ${received}${of} bytes`, {
    url: shown,
    received,
    ...(total === undefined ? {} : { expectedBytes: total }),
  });
}

function tooLarge(shown: string, maxBytes: number, total: number | undefined): AirlockError {
  const size = total === undefined ? 'more than that' : `${total} bytes`;
  return failure('too-large', `${shown} is too large: the limit is ${maxBytes} bytes, it sends ${size}`, {
    url: shown,
    maxBytes,
    ...(total === undefined ? {} : { contentLength: total }),
  });
}

/** Readable text for node and undici errors, which often hide the errno in `code` or in an AggregateError. */
function describeError(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return describeError(e.errors[0]);
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  const msg = e.message || e.name;
  return typeof code === 'string' && !msg.includes(code) ? `${msg} (${code})` : msg;
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function contentLength(headers: Dispatcher.ResponseData['headers']): number | undefined {
  const v = header(headers, 'content-length');
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** Closes a body that will not be read; undici reports that as an error nobody needs to hear. */
function drop(body: Dispatcher.ResponseData['body']): void {
  if (body.destroyed) return;
  body.on('error', () => undefined);
  body.destroy();
}

/** Reads and drops a small body (a redirect's or an error page) so the connection can be reused. */
async function discard(body: Dispatcher.ResponseData['body']): Promise<void> {
  await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
}

/**
 * One timer for "nothing happened for `ms`": re-armed at each step (request sent, each
 * body chunk), so a slow but steady download never times out, a stalled one always does.
 */
class Watchdog {
  readonly #ms: number;
  readonly #onFire: (phase: string) => void;
  /** at most one pending timer */
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number, onFire: (phase: string) => void) {
    this.#ms = ms;
    this.#onFire = onFire;
  }

  arm(phase: string): void {
    this.stop();
    this.#timer = setTimeout(() => this.#onFire(phase), this.#ms);
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
