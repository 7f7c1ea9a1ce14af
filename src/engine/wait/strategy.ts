import { AirlockError } from '../../errors.js';
import { isNotFound } from '../client.js';
import type { ContainerState, EngineContainer } from '../engine.js';

export type { ContainerState } from '../engine.js';

/** What every wait strategy is given: when to give up, and who may cancel. */
export interface WaitContext {
  /** `Date.now()` after which the strategy stops waiting and fails */
  deadline: number;
  signal?: AbortSignal;
  /** `Date.now()` when the container was started; `afterMs` counts from here (default: when waiting began) */
  startedAt?: number;
}

export interface WaitResult {
  /** the strategy's description, as recorded in transcripts and errors */
  strategy: string;
  afterMs: number;
}

/**
 * Decides when a started container is ready. Implementations never hang: each
 * honours the deadline and the AbortSignal, fails fast when the container ends,
 * and throws SERVICE_UNHEALTHY (details: strategy, afterMs, timedOut, reason) or
 * INTERRUPTED. They never stop or remove the container: that is the caller's.
 */
export interface WaitStrategy {
  /** e.g. `healthcheck`, `log /ready/`, `port 6379` */
  readonly description: string;
  waitUntilReady(container: EngineContainer, ctx: WaitContext): Promise<WaitResult>;
}

/** One probe's outcome: ready, a reason to keep waiting, or a reason to give up now. */
export type Verdict = { kind: 'ready' } | { kind: 'waiting'; reason: string } | { kind: 'failed'; reason: string };

export const ready: Verdict = { kind: 'ready' };
export const waiting = (reason: string): Verdict => ({ kind: 'waiting', reason });
export const failed = (reason: string): Verdict => ({ kind: 'failed', reason });

/** Why a container will never become ready because it is no longer running, or undefined while it may still. */
export function endedReason(state: ContainerState): string | undefined {
  if (state.Running || state.Status === 'created' || state.Restarting) return undefined;
  const oom = state.OOMKilled ? ' (killed: out of memory)' : '';
  const error = state.Error ? `: ${state.Error}` : '';
  return `the container ${state.Status || 'stopped'} with code ${state.ExitCode}${oom}${error}`;
}

export function interrupted(): AirlockError {
  return new AirlockError('INTERRUPTED', 'interrupted while waiting for a service');
}

export function notReady(strategy: string, reason: string, afterMs: number, timedOut: boolean): AirlockError {
  const what = timedOut ? `not ready after ${afterMs} ms` : `failed after ${afterMs} ms`;
  return new AirlockError('SERVICE_UNHEALTHY', `${strategy}: ${what}: ${reason}`, {
    details: { strategy, afterMs, timedOut, reason },
  });
}

/** Thrown by `bounded` when the deadline passes first; strategies turn it into a timeout. */
export class DeadlineReached extends Error {
  constructor() {
    super('deadline reached');
    this.name = 'DeadlineReached';
  }
}

/**
 * Settles with `work`, or rejects with DeadlineReached at `deadline` or with
 * INTERRUPTED on abort, whichever comes first; `onGiveUp` releases what `work`
 * holds (a stream) so nothing lingers after the caller moves on.
 */
export function bounded<T>(work: Promise<T>, ctx: WaitContext, onGiveUp?: () => void, deadline = ctx.deadline): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
    };
    const giveUp = (error: Error) => {
      done();
      onGiveUp?.();
      reject(error);
    };
    const onAbort = () => giveUp(interrupted());
    const timer = setTimeout(() => giveUp(new DeadlineReached()), Math.max(0, deadline - Date.now()));
    // Handlers go on `work` before anything else: once given up, its late
    // rejection (say a 409 from a container being removed) must not surface
    // as an unhandled rejection.
    work.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
    if (ctx.signal?.aborted) return onAbort();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Sleeps `ms` (never past the deadline); rejects with INTERRUPTED on abort. */
export function pause(ms: number, ctx: WaitContext): Promise<void> {
  const until = Math.min(ctx.deadline, Date.now() + ms);
  return bounded(new Promise<never>(() => undefined), ctx, undefined, until).catch((e: unknown) => {
    if (!(e instanceof DeadlineReached)) throw e;
  });
}

/**
 * The loop shared by the polling strategies: probe, decide, pause, until ready,
 * failed, past the deadline or aborted. A probe that hangs is abandoned at the
 * deadline. Engine errors other than "gone" propagate as ENGINE_ERROR.
 */
export async function poll(
  strategy: string,
  ctx: WaitContext,
  probe: () => Promise<Verdict>,
  intervalMs: number,
): Promise<WaitResult> {
  const begun = Date.now();
  const since = ctx.startedAt ?? begun;
  let last = 'no check completed yet';
  for (;;) {
    if (ctx.signal?.aborted) throw interrupted();
    if (Date.now() >= ctx.deadline) throw notReady(strategy, last, Date.now() - since, true);
    let verdict: Verdict;
    try {
      verdict = await bounded(probe(), ctx);
    } catch (e) {
      if (e instanceof DeadlineReached) continue;
      if (e instanceof AirlockError) throw e;
      throw new AirlockError('ENGINE_ERROR', `${strategy}: the engine failed while waiting: ${(e as Error).message}`, { cause: e });
    }
    if (verdict.kind === 'ready') return { strategy, afterMs: Date.now() - since };
    if (verdict.kind === 'failed') throw notReady(strategy, verdict.reason, Date.now() - since, false);
    last = verdict.reason;
    await pause(intervalMs, ctx);
  }
}

/** Reads the container's state; a container removed meanwhile is reported as ended, not as an engine error. */
export async function stateOf(container: EngineContainer): Promise<ContainerState | { gone: true }> {
  try {
    return (await container.inspect()).State;
  } catch (e) {
    if (isNotFound(e)) return { gone: true };
    throw e;
  }
}

export const GONE_REASON = 'the container no longer exists';

/** Polls the container's state until `verdict` calls it ready or failed (gone counts as failed). */
export function pollState(description: string, container: EngineContainer, ctx: WaitContext, verdict: (state: ContainerState) => Verdict, everyMs: number): Promise<WaitResult> {
  return poll(
    description,
    ctx,
    async () => {
      const state = await stateOf(container);
      return 'gone' in state ? failed(GONE_REASON) : verdict(state);
    },
    everyMs,
  );
}
