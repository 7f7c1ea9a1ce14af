import { describe, expect, it } from 'vitest';

import { AirlockError } from '../errors.js';
import { backoffMs, isRetryable, parseRetryAfter, sleep } from './retry.js';

const failed = (details: Record<string, unknown>): AirlockError => new AirlockError('FETCH_FAILED', 'x', { details });

describe('retry policy', () => {
  it('retries network trouble, 5xx and 429 only', () => {
    for (const reason of ['network', 'timeout', 'truncated']) expect(isRetryable(failed({ reason }))).toBe(true);
    expect(isRetryable(failed({ reason: 'status', status: 503 }))).toBe(true);
    expect(isRetryable(failed({ reason: 'status', status: 429 }))).toBe(true);
    expect(isRetryable(failed({ reason: 'status', status: 404 }))).toBe(false);
    expect(isRetryable(failed({ reason: 'redirect' }))).toBe(false);
    expect(isRetryable(failed({ reason: 'too-large' }))).toBe(false);
    expect(isRetryable(new AirlockError('FETCH_HASH_MISMATCH', 'x'))).toBe(false);
    expect(isRetryable(new Error('boom'))).toBe(false);
  });

  it('backs off exponentially with jitter, capped, and honours Retry-After', () => {
    expect(backoffMs(1, 500, undefined, () => 0)).toBe(250);
    expect(backoffMs(1, 500, undefined, () => 1)).toBe(500);
    expect(backoffMs(3, 500, undefined, () => 1)).toBe(2000);
    expect(backoffMs(20, 500, undefined, () => 1)).toBe(10_000);
    expect(backoffMs(1, 500, 3000)).toBe(3000);
    expect(backoffMs(1, 500, 3_600_000, () => 1)).toBe(500);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2026-11-21T21:00:00Z');
    expect(parseRetryAfter('Sat, 21 Nov 2026 21:00:05 GMT', now)).toBe(5000);
  });

  it('sleep gives up with the abort reason', async () => {
    const ac = new AbortController();
    const p = sleep(10_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });
});
