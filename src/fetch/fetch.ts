import { Agent, type Dispatcher } from 'undici';

import { AirlockError, isAirlockError } from '../errors.js';
import type { Cas } from '../store/cas.js';
import { downloadOnce } from './download.js';
import { INPUTS_LOCK_FILE } from './lock.js';
import { checkInputs, resolvePins, type Pin, type PlannedInput } from './pins.js';
import { backoffMs, isRetryable, sleep } from './retry.js';
import type { FetchedInput, FetchOptions, FetchProgress, InputSpec } from './types.js';
import { displayUrl } from './url.js';

const DEFAULTS = {
  timeoutMs: 30_000,
  retries: 3,
  retryDelayMs: 500,
  maxRedirects: 5,
  maxBytes: 2 * 1024 ** 3,
  concurrency: 4,
} as const;

type Settings = Required<Pick<FetchOptions, keyof typeof DEFAULTS>>;

/**
 * Makes every input available in the CAS, in spec order, downloading only what is not
 * already there under its pin. See `resolvePins` for where pins come from; `offline` never
 * touches the network, `frozen` refuses unpinned inputs. All pin problems (conflicts,
 * missing pins, offline misses) are found before anything is downloaded and reported together.
 * On the first download failure the other downloads are stopped and that failure is thrown,
 * its message prefixed with the input's name.
 */
export async function fetchInputs(inputs: readonly InputSpec[], opts: FetchOptions): Promise<FetchedInput[]> {
  const settings = checkOptions(opts);
  checkInputs(inputs);
  const planned = resolvePins(inputs, opts.lock, { frozen: opts.frozen ?? false });
  opts.signal?.throwIfAborted();

  const cached = await findCached(planned, opts.cas);
  if (opts.offline) throwOfflineMisses(planned, cached);

  const results: FetchedInput[] = new Array<FetchedInput>(planned.length);
  const todo: number[] = [];
  for (const [i, p] of planned.entries()) {
    const hit = cached.get(i);
    if (hit === undefined) {
      todo.push(i);
      continue;
    }
    results[i] = { name: p.spec.name, url: p.spec.url, digest: p.pin!.digest, size: hit, source: 'cache', attempts: 0, durationMs: 0, finalUrl: displayUrl(p.spec.url) };
    emit(opts, { kind: 'cached', name: p.spec.name, digest: p.pin!.digest });
    emit(opts, { kind: 'done', name: p.spec.name, digest: p.pin!.digest, size: hit, source: 'cache' });
  }
  if (todo.length === 0) return results;

  // stops the other downloads once one has failed; also carries the caller's abort
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(opts.signal!.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const ownAgent = opts.dispatcher === undefined ? new Agent({ connect: { timeout: settings.timeoutMs } }) : undefined;
  const dispatcher = opts.dispatcher ?? ownAgent!;
  let firstError: { error: unknown } | undefined;
  try {
    const queue = [...todo];
    const worker = async (): Promise<void> => {
      for (let i = queue.shift(); i !== undefined && !stop.signal.aborted; i = queue.shift()) {
        try {
          results[i] = await fetchOne(planned[i]!, { ...settings, cas: opts.cas, dispatcher, signal: stop.signal, opts });
        } catch (e) {
          if (firstError === undefined) {
            // the caller's own abort is thrown as its reason, unwrapped
            firstError = { error: opts.signal?.aborted ? opts.signal.reason : withInputName(e, planned[i]!.spec.name) };
            stop.abort(firstError.error);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(settings.concurrency, todo.length) }, worker));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await ownAgent?.close().catch(() => undefined);
  }
  if (firstError !== undefined) throw firstError.error;
  return results;
}

interface OneContext extends Settings {
  cas: Cas;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  opts: FetchOptions;
}

async function fetchOne({ spec, pin }: PlannedInput, c: OneContext): Promise<FetchedInput> {
  const started = performance.now();
  const url = new URL(spec.url);
  for (let attempt = 1; ; attempt++) {
    emit(c.opts, { kind: 'start', name: spec.name, url: displayUrl(url), attempt });
    try {
      const { ref, finalUrl } = await downloadOnce(url, {
        cas: c.cas,
        dispatcher: c.dispatcher,
        timeoutMs: c.timeoutMs,
        maxRedirects: c.maxRedirects,
        maxBytes: c.maxBytes,
        expected: pin?.digest,
        signal: c.signal,
        onRedirect: (from, to, status) => emit(c.opts, { kind: 'redirect', name: spec.name, from, to, status }),
        onBytes: (received, total) => emit(c.opts, { kind: 'bytes', name: spec.name, received, total }),
      });
      emit(c.opts, { kind: 'done', name: spec.name, digest: ref.digest, size: ref.size, source: 'network' });
      return {
        name: spec.name,
        url: spec.url,
        digest: ref.digest,
        size: ref.size,
        source: 'network',
        attempts: attempt,
        durationMs: Math.round(performance.now() - started),
        finalUrl: displayUrl(finalUrl),
      };
    } catch (e) {
      if (c.signal.aborted) throw c.signal.reason;
      if (isAirlockError(e, 'FETCH_HASH_MISMATCH') && pin !== undefined) throw explainPin(e, pin);
      if (!isRetryable(e) || attempt > c.retries) throw withAttempts(e, attempt);
      const delayMs = backoffMs(attempt, c.retryDelayMs, (e as AirlockError).details.retryAfterMs as number | undefined);
      emit(c.opts, { kind: 'retry', name: spec.name, attempt, delayMs, reason: (e as AirlockError).message });
      await sleep(delayMs, c.signal);
    }
  }
}

/** Sizes of the pinned blobs already in the CAS, by input index. */
async function findCached(planned: readonly PlannedInput[], cas: Cas): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  for (const [i, p] of planned.entries()) {
    if (p.pin !== undefined && (await cas.has(p.pin.digest))) found.set(i, await cas.size(p.pin.digest));
  }
  return found;
}

function throwOfflineMisses(planned: readonly PlannedInput[], cached: ReadonlyMap<number, number>): void {
  const missing = planned.flatMap((p, i) => (cached.has(i) ? [] : [{ name: p.spec.name, digest: p.pin?.digest ?? null }]));
  if (missing.length === 0) return;
  const what = missing.map((m) =>
    m.digest === null
      ? `${m.name} (not pinned, so it can only be learned by downloading it)`
      : `${m.name} (${m.digest} is not in the CAS)`,
  );
  throw new AirlockError(
    'FETCH_OFFLINE_MISS',
    `offline: ${missing.length === 1 ? 'an input is' : `${missing.length} inputs are`} not available: ${what.join('; ')}; run \`airlock fetch\` with network first`,
    { details: { missing } },
  );
}

function checkOptions(opts: FetchOptions): Settings {
  const s: Settings = {
    timeoutMs: opts.timeoutMs ?? DEFAULTS.timeoutMs,
    retries: opts.retries ?? DEFAULTS.retries,
    retryDelayMs: opts.retryDelayMs ?? DEFAULTS.retryDelayMs,
    maxRedirects: opts.maxRedirects ?? DEFAULTS.maxRedirects,
    maxBytes: opts.maxBytes ?? DEFAULTS.maxBytes,
    concurrency: opts.concurrency ?? DEFAULTS.concurrency,
  };
  const positive = ['timeoutMs', 'concurrency'] as const;
  for (const key of Object.keys(s) as (keyof Settings)[]) {
    const v = s[key];
    const min = (positive as readonly string[]).includes(key) ? 1 : 0;
    if (!Number.isSafeInteger(v) || v < min) {
      throw new TypeError(`Expected \`${key}\` to be an integer >= ${min}, got \`${String(v)}\``);
    }
  }
  return s;
}

function emit(opts: FetchOptions, event: FetchProgress): void {
  opts.onProgress?.(event);
}

/** Same error, message prefixed with the input it concerns (and details naming it). */
function withInputName(e: unknown, name: string): unknown {
  if (!isAirlockError(e)) return e;
  return new AirlockError(e.code, `input ${name}: ${e.message}`, { cause: e.cause, details: { input: name, ...e.details } });
}

function withAttempts(e: unknown, attempts: number): unknown {
  if (!isAirlockError(e) || attempts === 1) return e;
  return new AirlockError(e.code, `${e.message} (gave up after ${attempts} attempts)`, { cause: e.cause, details: { ...e.details, attempts } });
}

function explainPin(e: AirlockError, pin: Pin): AirlockError {
  const where = pin.from === 'spec' ? 'airlock.yaml' : INPUTS_LOCK_FILE;
  return new AirlockError(e.code, `${e.message} (the pin comes from ${where})`, { cause: e.cause, details: { ...e.details, pinnedIn: where } });
}
