import type { EngineContainer } from '../engine.js';
import { endedReason, failed, pollState, ready, waiting, type ContainerState, type Verdict, type WaitContext, type WaitResult, type WaitStrategy } from './strategy.js';

const POLL_MS = 100;

export function runningVerdict(state: ContainerState): Verdict {
  if (state.Running && !state.Restarting) return ready;
  const ended = endedReason(state);
  return ended ? failed(ended) : waiting(`the container is ${state.Status}`);
}

/** Ready as soon as the engine reports the container running: for services with nothing better to wait for. */
export class RunningWaitStrategy implements WaitStrategy {
  readonly description = 'running';

  waitUntilReady(container: EngineContainer, ctx: WaitContext): Promise<WaitResult> {
    return pollState(this.description, container, ctx, runningVerdict, POLL_MS);
  }
}
