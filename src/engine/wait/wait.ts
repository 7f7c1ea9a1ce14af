import { CommandWaitStrategy } from './command.js';
import { HealthCheckWaitStrategy } from './health.js';
import { LogWaitStrategy } from './log.js';
import { ListeningPortWaitStrategy, type ListeningPortOptions } from './port.js';
import { RunningWaitStrategy } from './running.js';

export type { WaitContext, WaitResult, WaitStrategy } from './strategy.js';

/** The readiness strategies, by what they wait for. */
export const Wait = {
  /** the engine's health status (the container's HEALTHCHECK) becomes `healthy` */
  forHealthcheck: () => new HealthCheckWaitStrategy(),
  /** a log line (stdout or stderr) matches: a RegExp, a `/re/flags` string, or a substring; `times` lines must match */
  forLogMessage: (pattern: string | RegExp, times = 1) => new LogWaitStrategy(pattern, times),
  /** argv, run inside the container without a shell, exits 0 */
  forCommand: (argv: string[]) => new CommandWaitStrategy(argv),
  /** a TCP socket listens on `port` inside the container (read from /proc/net/tcp{,6}) */
  forListeningPort: (port: number, options?: ListeningPortOptions) => new ListeningPortWaitStrategy(port, options),
  /** the container is running */
  forRunning: () => new RunningWaitStrategy(),
} as const;
