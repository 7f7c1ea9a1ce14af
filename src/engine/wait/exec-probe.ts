import { Writable } from 'node:stream';
import { isNotFound, statusCode } from '../client.js';
import type { EngineContainer, EngineExec } from '../engine.js';
import { bounded, DeadlineReached, type WaitContext } from './strategy.js';

/** The outcome of one probe command run inside the container. */
export type ProbeResult =
  | { kind: 'exited'; exitCode: number; output: string }
  /** still running when its attempt's time was up; its stream was dropped */
  | { kind: 'timed-out'; output: string }
  /** the engine refused the exec: the container is not running (or no longer exists) */
  | { kind: 'not-running' };

/** Exit status of an exec whose program could not be started (not found, not executable). */
export const CANNOT_EXEC = [126, 127];

/** Keeps the last `max` characters written to it: the end of a probe's output says why it failed. */
class Tail extends Writable {
  text = '';
  constructor(private readonly max: number) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-this.max);
    done();
  }
}

/**
 * Runs argv (no shell) in the container with stdin closed, stdout and stderr
 * merged, for at most `attemptMs` (and never past the deadline). A hung probe
 * is abandoned: its stream is destroyed and the wait moves on.
 */
export async function execProbe(
  container: EngineContainer,
  argv: string[],
  ctx: WaitContext,
  { attemptMs = 5_000, maxOutput = 64 * 1024 } = {},
): Promise<ProbeResult> {
  let exec: EngineExec;
  try {
    exec = await container.exec({ Cmd: argv });
  } catch (e) {
    if (statusCode(e) === 409 || isNotFound(e)) return { kind: 'not-running' };
    throw e;
  }
  const out = new Tail(maxOutput);
  const stream = await exec.start(out, out);
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  try {
    await bounded(ended, ctx, () => stream.destroy(), Math.min(ctx.deadline, Date.now() + attemptMs));
  } catch (e) {
    if (e instanceof DeadlineReached) return { kind: 'timed-out', output: out.text };
    throw e;
  }
  // The stream can end a moment before the engine records the exit code.
  for (let i = 0; i < 40; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return { kind: 'exited', exitCode: info.ExitCode, output: out.text };
    await new Promise((r) => setTimeout(r, 25));
  }
  return { kind: 'timed-out', output: out.text };
}
