import { describe, expect, it } from 'vitest';
import { bounded, DeadlineReached, failed, poll, ready, waiting, type Verdict } from './strategy.js';

const never = () => new Promise<Verdict>(() => undefined);

describe('poll', () => {
  it('probes until ready and reports the time since the container started', async () => {
    const verdicts = [waiting('a'), waiting('b'), ready];
    const startedAt = Date.now() - 1_000;
    const r = await poll('test', { deadline: Date.now() + 5_000, startedAt }, async () => verdicts.shift()!, 1);
    expect(r.strategy).toBe('test');
    expect(r.afterMs).toBeGreaterThanOrEqual(1_000);
    expect(verdicts).toEqual([]);
  });

  it('fails at once on a failed verdict', async () => {
    await expect(poll('test', { deadline: Date.now() + 5_000 }, async () => failed('broken'), 1)).rejects.toMatchObject({
      code: 'SERVICE_UNHEALTHY',
      details: { strategy: 'test', timedOut: false, reason: 'broken' },
    });
  });

  it('times out with the last reason it was given', async () => {
    await expect(poll('test', { deadline: Date.now() + 80 }, async () => waiting('not yet'), 10)).rejects.toMatchObject({
      code: 'SERVICE_UNHEALTHY',
      details: { timedOut: true, reason: 'not yet' },
    });
  });

  it('abandons a probe that hangs at the deadline', async () => {
    const started = Date.now();
    await expect(poll('test', { deadline: Date.now() + 100 }, never, 10)).rejects.toMatchObject({ details: { timedOut: true } });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('is interrupted promptly by its signal, even mid-probe', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const started = Date.now();
    await expect(poll('test', { deadline: Date.now() + 60_000, signal: ac.signal }, never, 10)).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('turns an engine failure into ENGINE_ERROR', async () => {
    await expect(poll('test', { deadline: Date.now() + 5_000 }, () => Promise.reject(new Error('socket hang up')), 1)).rejects.toMatchObject({
      code: 'ENGINE_ERROR',
    });
  });
});

describe('bounded', () => {
  it('settles with the work, or at the deadline, releasing what the work holds', async () => {
    expect(await bounded(Promise.resolve(7), { deadline: Date.now() + 1_000 })).toBe(7);
    let released = false;
    await expect(bounded(never(), { deadline: Date.now() + 10 }, () => (released = true))).rejects.toBeInstanceOf(DeadlineReached);
    expect(released).toBe(true);
  });

  it('rejects at once with an already aborted signal', async () => {
    await expect(bounded(never(), { deadline: Date.now() + 60_000, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'INTERRUPTED' });
  });

  it('handles the late failure of work it gave up on (an engine call that fails after the abort is not an unhandled rejection)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const late = new Promise<never>((_, reject) => setTimeout(() => reject(Object.assign(new Error('removal in progress'), { statusCode: 409 })), 5));
      await expect(bounded(late, { deadline: Date.now() + 60_000, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'INTERRUPTED' });
      const ac = new AbortController();
      const later = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('gone')), 5));
      const pending = bounded(later, { deadline: Date.now() + 60_000, signal: ac.signal });
      ac.abort();
      await expect(pending).rejects.toMatchObject({ code: 'INTERRUPTED' });
      await new Promise((r) => setTimeout(r, 30));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
