import { execa } from 'execa';

export interface DiffoscopeOptions {
  /** the program to run. Default `diffoscope` (from PATH). */
  bin?: string;
  /** Default 120 s; diffoscope on large trees can take long, a report is not worth a stalled run. */
  timeoutMs?: number;
  /** stdout kept; beyond it diffoscope is stopped. Default 16 MiB. */
  maxBytes?: number;
  signal?: AbortSignal;
}

/**
 * diffoscope's text report comparing two files or directories, when diffoscope is installed:
 * `undefined` when it is not (or it failed), `''` when it finds no difference. It runs with
 * an argv array (no shell), a timeout, and without a terminal, so it never prompts.
 */
export async function diffoscopeReport(pathA: string, pathB: string, options: DiffoscopeOptions = {}): Promise<string | undefined> {
  const result = await execa(options.bin ?? 'diffoscope', ['--text', '-', '--', pathA, pathB], {
    reject: false,
    stdin: 'ignore',
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: options.maxBytes ?? 16 * 1024 * 1024,
    ...(options.signal === undefined ? {} : { cancelSignal: options.signal }),
    env: { LC_ALL: 'C.UTF-8' },
  });
  // 0: identical, 1: differences reported; anything else (127 not found, 2 error, timeout) is no report
  if (result.failed && result.exitCode !== 1) return undefined;
  return String(result.stdout);
}
