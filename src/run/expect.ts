import { readFile } from 'node:fs/promises';
import type { Expect, OutputMatch } from '../spec/types.js';
import { sha256Digest } from '../util/digest.js';

export interface StreamText {
  /** the captured bytes, or undefined when they were too large to hold for matching */
  text: string | undefined;
  digest: string;
  size: number;
}

export interface ExpectationFailure {
  what: 'exit' | 'stdout' | 'stderr' | 'timeout';
  message: string;
  /** a bounded unified diff, when expected content is known */
  diff?: string;
}

/** Larger captures are compared by digest only (golden files) or reported as too large to match. */
export const MATCH_LIMIT_BYTES = 16 * 1024 * 1024;
const DIFF_LIMIT_LINES = 80;

/** `diff` is loaded on a mismatch only: a passing run never pays for it. */
async function boundedDiff(name: string, expected: string, actual: string): Promise<string> {
  const { createTwoFilesPatch } = await import('diff');
  const patch = createTwoFilesPatch(`expected/${name}`, `actual/${name}`, expected, actual, '', '', { context: 3 });
  const lines = patch.split('\n');
  return lines.length > DIFF_LIMIT_LINES ? [...lines.slice(0, DIFF_LIMIT_LINES), `… ${lines.length - DIFF_LIMIT_LINES} more diff lines`].join('\n') : patch;
}

async function checkStream(what: 'stdout' | 'stderr', match: OutputMatch, got: StreamText): Promise<ExpectationFailure | undefined> {
  if ('file' in match) {
    const expected = await readFile(match.file);
    if (sha256Digest(expected) === got.digest) return undefined;
    return {
      what,
      message: `${what} differs from golden file ${match.file}`,
      ...(got.text !== undefined ? { diff: await boundedDiff(what, expected.toString('utf8'), got.text) } : {}),
    };
  }
  if (got.text === undefined) return { what, message: `${what} is ${got.size} bytes, too large to match (limit ${MATCH_LIMIT_BYTES})` };
  if ('equals' in match) {
    return got.text === match.equals ? undefined : { what, message: `${what} does not equal the expected text`, diff: await boundedDiff(what, match.equals, got.text) };
  }
  if ('contains' in match) {
    return got.text.includes(match.contains) ? undefined : { what, message: `${what} does not contain ${JSON.stringify(match.contains)}` };
  }
  return new RegExp(match.matches, 'm').test(got.text) ? undefined : { what, message: `${what} does not match /${match.matches}/` };
}

/** Every expectation of a step, evaluated; an empty list means the step passed. */
export async function evaluateExpect(
  expect: Expect,
  result: { exitCode: number; timedOut: boolean; timeoutMs: number },
  stdout: StreamText,
  stderr: StreamText,
): Promise<ExpectationFailure[]> {
  if (result.timedOut) return [{ what: 'timeout', message: `killed after its ${result.timeoutMs} ms timeout` }];
  const failures: ExpectationFailure[] = [];
  if (result.exitCode !== expect.exit) failures.push({ what: 'exit', message: `exit code ${result.exitCode}, expected ${expect.exit}` });
  for (const what of ['stdout', 'stderr'] as const) {
    const match = expect[what];
    if (!match) continue;
    const f = await checkStream(what, match, what === 'stdout' ? stdout : stderr);
    if (f) failures.push(f);
  }
  return failures;
}
