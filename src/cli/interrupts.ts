import { AirlockError } from '../errors.js';

/**
 * Runs `work` with an AbortSignal that SIGINT/SIGTERM trip, so a run can remove
 * its cells and seal what happened before exiting. A second signal while
 * cleaning up exits at once (130).
 */
export async function withInterrupts<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`airlock: ${sig}: stopping, removing this run's containers (again to force)\n`);
    controller.abort(new AirlockError('INTERRUPTED', `interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
