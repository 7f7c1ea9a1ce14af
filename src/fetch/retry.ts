import { isAirlockError } from '../errors.js';

/** Why a download attempt failed, as recorded in FETCH_FAILED `details.reason`. */
export type FailureReason = 'status' | 'network' | 'timeout' | 'truncated' | 'too-large' | 'redirect';

const MAX_BACKOFF_MS = 10_000;
/** A server asking for more patience than this is not waited for; the attempt fails instead. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Whether another attempt could succeed: network errors, timeouts, truncated bodies, 5xx and
 * 429. Never a 4xx, a hash mismatch, a redirect problem or an oversized body: those repeat.
 */
export function isRetryable(e: unknown): boolean {
  if (!isAirlockError(e, 'FETCH_FAILED')) return false;
  const reason = e.details.reason as FailureReason | undefined;
  switch (reason) {
    case 'network':
    case 'timeout':
    case 'truncated':
      return true;
    case 'status': {
      const status = e.details.status as number;
      return status >= 500 || status === 429;
    }
    case 'too-large':
    case 'redirect':
    case undefined:
      return false;
  }
}

/**
 * Delay before retry number `retry` (1-based): `baseMs * 2^(retry-1)` capped at 10 s, with
 * "equal jitter" (half fixed, half random) so many clients do not retry in lockstep.
 * A server's Retry-After (ms) replaces it when present and not absurdly long.
 */
export function backoffMs(retry: number, baseMs: number, retryAfterMs?: number, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined && retryAfterMs <= MAX_RETRY_AFTER_MS) return retryAfterMs;
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
