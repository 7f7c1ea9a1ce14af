/**
 * Durations and sizes as people write them in specs and on the command line.
 *
 * Both parsers are pure and throw a `RangeError` whose message says what was expected;
 * callers wrap it in their own coded error (the spec loader turns it into a SPEC_INVALID
 * issue with the YAML position).
 */

const DURATION_UNITS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type DurationUnit = keyof typeof DURATION_UNITS;

// One or more `<number><unit>` parts, Go style: "300s", "1m30s", "1.5h", "1500ms".
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const DURATION_SHAPE = /^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$/;

/** Source of the duration syntax, for JSON Schema `pattern`s. */
export const DURATION_PATTERN = DURATION_SHAPE.source;

/**
 * Parses a duration such as `300s`, `5m`, `1500ms`, `1h` or `1m30s` into milliseconds.
 * A bare number is rejected: "30" could mean seconds or milliseconds.
 * @throws RangeError when the text is not a duration or is not a whole number of milliseconds
 */
export function parseDuration(text: string): number {
  if (!DURATION_SHAPE.test(text)) {
    const hint = /^\d+(?:\.\d+)?$/.test(text) ? ' (a unit is required)' : '';
    throw new RangeError(
      `expected a duration like "30s", "5m", "1500ms" or "1h"${hint}, got ${JSON.stringify(text)}`,
    );
  }
  let exact = 0;
  for (const m of text.matchAll(DURATION_PART)) {
    exact += Number(m[1]) * DURATION_UNITS[m[2] as DurationUnit];
  }
  // "1.1s" is 1100.0000000000002 in floating point; anything that close is meant to be whole.
  const ms = Math.round(exact);
  if (Math.abs(ms - exact) > 1e-6 || !Number.isSafeInteger(ms)) {
    throw new RangeError(`duration ${JSON.stringify(text)} is not a whole number of milliseconds`);
  }
  return ms;
}

/** Writes milliseconds with the largest unit that divides them exactly: 300000 → "5m". */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    const n = DURATION_UNITS[unit];
    if (ms !== 0 && ms % n === 0) return `${ms / n}${unit}`;
  }
  return `${ms}ms`;
}

// Docker's units (go-units RAMInBytes): case-insensitive, "k", "kb" and "kib" all mean 1024.
const SIZE_UNITS = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 } as const;
type SizeUnit = keyof typeof SIZE_UNITS;
const SIZE_SHAPE = /^(\d+(?:\.\d+)?) ?(?:([kmgtp])(?:i?b)?|b)?$/i;

/** Source of the size syntax, for JSON Schema `pattern`s. */
export const SIZE_PATTERN = '^\\d+(\\.\\d+)? ?([kKmMgGtTpP]([iI]?[bB])?|[bB])?$';

/**
 * Parses a size such as `512m`, `1g`, `64k` or `1048576` (bytes) into bytes, base 1024 as Docker does.
 * Fractions are allowed (`1.5g`) and, like Docker, truncated to whole bytes.
 * @throws RangeError when the text is not a size or the result is not a safe integer
 */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`expected a whole number of bytes, got ${value}`);
    }
    return value;
  }
  const m = SIZE_SHAPE.exec(value);
  if (m === null) {
    throw new RangeError(
      `expected a size like "512m", "1g", "64k" or a number of bytes, got ${JSON.stringify(value)}`,
    );
  }
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toLowerCase() as SizeUnit]);
  if (!Number.isSafeInteger(bytes)) {
    throw new RangeError(`size ${JSON.stringify(value)} is too large`);
  }
  return bytes;
}

/** Writes bytes with the largest unit that divides them exactly: 536870912 → "512m". */
export function formatSize(bytes: number): string {
  for (const unit of ['p', 't', 'g', 'm', 'k'] as const) {
    const n = SIZE_UNITS[unit];
    if (bytes !== 0 && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return String(bytes);
}
