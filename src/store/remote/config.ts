import { AirlockError } from '../../errors.js';
import { displayUrl } from '../../fetch/url.js';

/**
 * The shared remote cache, from the environment. Pure: no I/O.
 *
 *   AIRLOCK_REMOTE_CACHE=https://cache.example:9092/team   the server (Bazel's HTTP remote-cache protocol)
 *   AIRLOCK_REMOTE_CACHE=https://user:pass@cache.example/  Basic auth from the URL's user info
 *   AIRLOCK_REMOTE_CACHE_TOKEN=…                            Bearer auth (not with user info)
 *
 * Credentials live only in `authorization`; everything shown or recorded uses `shown`.
 */
export interface RemoteCacheConfig {
  /** the server's base URL, without user info, ending in `/` so `cas/<hex>` resolves below it */
  base: URL;
  /** the URL as messages, logs and transcripts show it: user info and secret query values hidden */
  shown: string;
  /** the Authorization header, or undefined for none */
  authorization: string | undefined;
  /** no response headers, or no body bytes, for this long fails the request. Default 10 s */
  timeoutMs: number;
  /** a blob larger than this is neither fetched nor uploaded. Default 2 GiB */
  maxBlobBytes: number;
  /** a remote action-cache entry larger than this is not read. Default 16 MiB */
  maxEntryBytes: number;
  /** uploads at once. Default 4 */
  uploadConcurrency: number;
  /** uploads waiting beyond this many are dropped (counted in the drain summary). Default 10 000 */
  maxQueuedUploads: number;
  /** how long the end of a command waits for uploads still running. Default 60 s */
  drainMs: number;
}

export const REMOTE_CACHE_DEFAULTS = {
  timeoutMs: 10_000,
  maxBlobBytes: 2 * 1024 ** 3,
  maxEntryBytes: 16 * 1024 ** 2,
  uploadConcurrency: 4,
  maxQueuedUploads: 10_000,
  drainMs: 60_000,
} as const;

/** The remote cache the environment names, or undefined when AIRLOCK_REMOTE_CACHE is unset or empty. */
export function remoteCacheFromEnv(env: NodeJS.ProcessEnv = process.env): RemoteCacheConfig | undefined {
  const raw = env.AIRLOCK_REMOTE_CACHE;
  if (raw === undefined || raw === '') return undefined;
  const token = env.AIRLOCK_REMOTE_CACHE_TOKEN;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // the raw value may hold credentials: show only what displayUrl keeps of it
    throw invalid(`AIRLOCK_REMOTE_CACHE is not an absolute URL: ${displayUrl(raw)}`);
  }
  const shown = displayUrl(url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`AIRLOCK_REMOTE_CACHE must be an http or https URL, got ${shown}`);
  }
  if (url.hash !== '' || url.search !== '') throw invalid(`AIRLOCK_REMOTE_CACHE must not carry a query or fragment: ${shown}`);
  const hasUserInfo = url.username !== '' || url.password !== '';
  if (hasUserInfo && token !== undefined && token !== '') {
    throw invalid('AIRLOCK_REMOTE_CACHE carries user info and AIRLOCK_REMOTE_CACHE_TOKEN is set: use one of Basic (user:password@) or Bearer (the token)');
  }
  const authorization = hasUserInfo
    ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`, 'utf8').toString('base64')}`
    : token
      ? `Bearer ${token}`
      : undefined;
  const base = new URL(url.href);
  base.username = '';
  base.password = '';
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return { base, shown: displayUrl(base).replace(/\/$/, ''), authorization, ...REMOTE_CACHE_DEFAULTS };
}

function invalid(message: string): AirlockError {
  return new AirlockError('REMOTE_CACHE_INVALID', message);
}
