import { createTwoFilesPatch } from 'diff';

/** Texts larger than this are compared as bytes: line diffs grow quadratically in the worst case. */
export const TEXT_LIMIT = 2 * 1024 * 1024;
/** A diff that cannot be computed in this long is left out rather than stalling the report. */
const DIFF_TIMEOUT_MS = 2_000;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The content as text, or undefined when it is binary (a NUL byte, invalid UTF-8) or too large to diff. */
export function asText(buf: Buffer): string | undefined {
  if (buf.length > TEXT_LIMIT || buf.includes(0)) return undefined;
  try {
    return utf8.decode(buf);
  } catch {
    return undefined;
  }
}

/**
 * A unified diff (`--- a/path`, `+++ b/path`, 3 lines of context) cut after `maxLines`
 * lines with a count of what was left out; undefined when it took too long to compute.
 */
export function unifiedDiff(path: string, a: string, b: string, maxLines: number): string | undefined {
  const patch = createTwoFilesPatch(`a/${path}`, `b/${path}`, a, b, undefined, undefined, { context: 3, timeout: DIFF_TIMEOUT_MS });
  if (patch === undefined) return undefined;
  const lines = patch.split('\n');
  // createTwoFilesPatch starts with a "====" rule; a unified diff starts at "---"
  const start = lines.findIndex((l) => l.startsWith('--- '));
  const body = lines.slice(start === -1 ? 0 : start);
  if (body.at(-1) === '') body.pop();
  if (body.length <= maxLines) return `${body.join('\n')}\n`;
  return `${body.slice(0, maxLines).join('\n')}\n… ${body.length - maxLines} more lines of diff\n`;
}
