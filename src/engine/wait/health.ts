import type { EngineContainer } from '../engine.js';
import { endedReason, failed, pollState, ready, waiting, type ContainerState, type Verdict, type WaitContext, type WaitResult, type WaitStrategy } from './strategy.js';

/** How many of the engine's most recent health probe results a reason quotes. */
const QUOTED_PROBES = 3;
/** The engine updates health status once per probe interval; polling faster only costs inspects. */
const POLL_MS = 200;

const oneLine = (s: string, max = 300) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
};

/** The last few probe results the engine kept, newest last: `exit 1: connection refused`. */
export function healthLog(state: ContainerState, count = QUOTED_PROBES): string[] {
  return (state.Health?.Log ?? []).slice(-count).map((p) => `exit ${p.ExitCode}: ${oneLine(p.Output) || '(no output)'}`);
}

/** Decides from one inspect: healthy is ready; unhealthy, ended or no healthcheck at all fail now. */
export function healthVerdict(state: ContainerState): Verdict {
  const health = state.Health;
  const probes = () => {
    const log = healthLog(state);
    return log.length > 0 ? `; last probes: ${log.join(' | ')}` : '';
  };
  if (health?.Status === 'healthy') return ready;
  const ended = endedReason(state);
  if (ended) return failed(`${ended}${probes()}`);
  if (!health || health.Status === 'none' || health.Status === '') return failed('the container has no healthcheck (neither the image nor the service defines one)');
  if (health.Status === 'unhealthy') return failed(`the engine reports it unhealthy after ${health.FailingStreak} failing probes${probes()}`);
  return waiting(`health is ${health.Status}${probes()}`);
}

/** Waits for the engine's own health status (the container's HEALTHCHECK) to become `healthy`. */
export class HealthCheckWaitStrategy implements WaitStrategy {
  readonly description = 'healthcheck';

  waitUntilReady(container: EngineContainer, ctx: WaitContext): Promise<WaitResult> {
    return pollState(this.description, container, ctx, healthVerdict, POLL_MS);
  }
}
