import type { Readable } from 'node:stream';
import type { EngineContainer } from '../engine.js';
import { isNotFound } from '../client.js';
import { LineSplitter, LogDemuxer } from './logs.js';
import { bounded, DeadlineReached, endedReason, GONE_REASON, interrupted, notReady, stateOf, type WaitContext, type WaitResult, type WaitStrategy } from './strategy.js';

export interface LineMatcher {
  test(line: string): boolean;
  /** how the pattern is shown: `/re/flags` or `"substring"` */
  readonly shown: string;
}

/**
 * A string written as `/pattern/flags` is a regular expression; any other
 * string is a plain substring. Global and sticky flags are dropped: they would
 * make `test` depend on the previous line.
 */
export function lineMatcher(pattern: string | RegExp): LineMatcher {
  let re: RegExp | undefined;
  if (pattern instanceof RegExp) re = pattern;
  else {
    const m = /^\/(.+)\/([dimsuv]*)$/s.exec(pattern);
    if (m) {
      try {
        re = new RegExp(m[1]!, m[2]);
      } catch (e) {
        throw new TypeError(`Expected \`pattern\` to be a valid regular expression, got \`${pattern}\`: ${(e as Error).message}`);
      }
    }
  }
  if (re) {
    const plain = new RegExp(re.source, re.flags.replace(/[gy]/g, ''));
    return { test: (line) => plain.test(line), shown: String(plain) };
  }
  const text = pattern as string;
  if (text === '') throw new TypeError('Expected `pattern` to be a non-empty string or a RegExp, got ``');
  return { test: (line) => line.includes(text), shown: JSON.stringify(text) };
}

const shorten = (s: string, max = 200) => (s.length > max ? `${s.slice(0, max)}…` : s);

/** Follows the container's log (stdout and stderr, from its start) until `times` lines have matched. */
export class LogWaitStrategy implements WaitStrategy {
  readonly description: string;
  readonly #matcher: LineMatcher;

  constructor(
    pattern: string | RegExp,
    private readonly times = 1,
  ) {
    if (!Number.isInteger(times) || times < 1) throw new TypeError(`Expected \`times\` to be an integer >= 1, got \`${times}\``);
    this.#matcher = lineMatcher(pattern);
    this.description = `log ${this.#matcher.shown}${times > 1 ? ` ×${times}` : ''}`;
  }

  async waitUntilReady(container: EngineContainer, ctx: WaitContext): Promise<WaitResult> {
    const since = ctx.startedAt ?? Date.now();
    const strategy = this.description;
    const elapsed = () => Date.now() - since;
    let stream: Readable;
    try {
      stream = await bounded(container.followLogs(), ctx);
    } catch (e) {
      if (e instanceof DeadlineReached) throw notReady(strategy, 'the engine did not start streaming the log in time', elapsed(), true);
      if (isNotFound(e)) throw notReady(strategy, GONE_REASON, elapsed(), false);
      throw e;
    }
    return new Promise<WaitResult>((resolve, reject) => {
      const demuxer = new LogDemuxer();
      const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
      let matched = 0;
      let lastLine: string | undefined;
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ctx.signal?.removeEventListener('abort', onAbort);
        stream.destroy();
        outcome();
      };
      const seen = () => (lastLine === undefined ? 'no log line yet' : `last line: ${shorten(lastLine)}`);
      const consider = (lines: string[]) => {
        for (const line of lines) {
          lastLine = line;
          if (this.#matcher.test(line) && ++matched >= this.times) {
            const afterMs = elapsed();
            settle(() => resolve({ strategy, afterMs }));
            return;
          }
        }
      };
      const onAbort = () => settle(() => reject(interrupted()));
      const timer = setTimeout(
        () => settle(() => reject(notReady(strategy, `no log line matched (${matched} of ${this.times}); ${seen()}`, elapsed(), true))),
        Math.max(0, ctx.deadline - Date.now()),
      );
      if (ctx.signal?.aborted) return onAbort();
      ctx.signal?.addEventListener('abort', onAbort, { once: true });

      stream.on('data', (chunk: Buffer) => {
        for (const frame of demuxer.push(chunk)) consider(splitters[frame.stream].push(frame.data.toString('utf8')));
      });
      const ended = () => {
        if (settled) return;
        consider([...splitters.stdout.flush(), ...splitters.stderr.flush()]);
        if (settled) return;
        // The log ends when the container does: say how it ended.
        stateOf(container).then(
          (state) => {
            const why = 'gone' in state ? GONE_REASON : (endedReason(state) ?? 'the engine closed the log stream');
            settle(() => reject(notReady(strategy, `${why} before its log matched; ${seen()}`, elapsed(), false)));
          },
          (e: unknown) => settle(() => reject(e)),
        );
      };
      stream.on('end', ended);
      stream.on('close', ended);
      stream.on('error', (e) => settle(() => reject(e)));
    });
  }
}
