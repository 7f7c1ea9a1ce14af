import type { EngineContainer } from '../engine.js';
import { CANNOT_EXEC, execProbe, type ProbeResult } from './exec-probe.js';
import { endedReason, failed, GONE_REASON, poll, ready, stateOf, waiting, type Verdict, type WaitContext, type WaitResult, type WaitStrategy } from './strategy.js';

const POLL_MS = 250;

const lastLine = (output: string) => {
  const lines = output.trim().split('\n');
  return (lines.at(-1) ?? '').trim().slice(0, 300);
};

/** Exit 0 is ready; a program the container cannot run fails at once (retrying will not find it). */
export function commandVerdict(argv: string[], result: Exclude<ProbeResult, { kind: 'not-running' }>): Verdict {
  const shown = argv.join(' ');
  if (result.kind === 'timed-out') return waiting(`\`${shown}\` did not finish in time${result.output ? `: ${lastLine(result.output)}` : ''}`);
  if (result.exitCode === 0) return ready;
  const said = lastLine(result.output);
  if (CANNOT_EXEC.includes(result.exitCode)) return failed(`\`${shown}\` cannot run in the container (exit ${result.exitCode})${said ? `: ${said}` : ''}`);
  return waiting(`\`${shown}\` exited ${result.exitCode}${said ? `: ${said}` : ''}`);
}

/** Runs argv inside the container (no shell, stdin closed) until it exits 0. */
export class CommandWaitStrategy implements WaitStrategy {
  readonly description: string;

  constructor(
    private readonly argv: string[],
    private readonly attemptMs = 5_000,
  ) {
    if (argv.length === 0) throw new TypeError('Expected `argv` to be a non-empty array of strings, got []');
    this.description = `command ${argv.join(' ')}`;
  }

  waitUntilReady(container: EngineContainer, ctx: WaitContext): Promise<WaitResult> {
    return poll(
      this.description,
      ctx,
      async () => {
        const result = await execProbe(container, this.argv, ctx, { attemptMs: this.attemptMs });
        if (result.kind !== 'not-running') return commandVerdict(this.argv, result);
        const state = await stateOf(container);
        if ('gone' in state) return failed(GONE_REASON);
        const ended = endedReason(state);
        return ended ? failed(ended) : waiting(`the container is ${state.Status}`);
      },
      POLL_MS,
    );
  }
}
