import type { ContainerState } from '../strategy.js';

/** An engine container state, running unless `over` says otherwise. */
export const containerState = (over: Partial<ContainerState>): ContainerState => ({
  Status: 'running',
  Running: true,
  Restarting: false,
  OOMKilled: false,
  ExitCode: 0,
  Error: '',
  ...over,
});

/** One frame of the engine's multiplexed log stream (1 = stdout, 2 = stderr). */
export const logFrame = (stream: 1 | 2, text: string): Buffer => {
  const data = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
};
