/**
 * Finding timestamps in text, and deciding whether one was taken during a build.
 *
 * A build that embeds "now" is the most common reason two builds differ. Formats recognised:
 * ISO 8601, epoch seconds and milliseconds, `date`'s default output, RFC 2822, C's
 * `__DATE__`/`__TIME__`, and compact `YYYYMMDDHHMMSS`. A timestamp without a zone could be
 * wall-clock time anywhere, so it becomes one candidate interval per zone the runs used (and
 * UTC); it counts as "during the build" when any candidate overlaps a run's window.
 */

export type TimestampFormat = 'ISO 8601' | 'epoch seconds' | 'epoch milliseconds' | 'date(1)' | 'RFC 2822' | '__DATE__/__TIME__' | 'YYYYMMDDHHMMSS';

export interface FoundTimestamp {
  text: string;
  index: number;
  format: TimestampFormat;
  /** the instants it may denote, as [from, to) intervals in ms since the epoch (its precision, per zone) */
  ranges: [number, number][];
}

export interface Window {
  start: number;
  end: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MON = `(${MONTHS.join('|')})`;
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const SECOND = 1000;
const DAY_MS = 86_400_000;
/** clocks are read at slightly different moments than the run's own start and end */
const SLACK_MS = 2 * SECOND;

interface Pattern {
  format: TimestampFormat;
  re: RegExp;
  /** wall-clock parts (month 1-12) plus zone offset in minutes, or null when the text has no zone */
  parse: (m: RegExpExecArray) => Parsed | undefined;
}

interface Parsed {
  /** ms since the epoch as if the wall clock were UTC; for time-only, ms since midnight */
  wall: number;
  /** minutes east of UTC, or null when unknown */
  offsetMin: number | null;
  precisionMs: number;
  timeOnly?: boolean;
}

const num = (s: string | undefined): number => Number(s ?? 0);
const month = (s: string): number => MONTHS.indexOf(s) + 1;

function offsetOf(zone: string | undefined): number | null {
  if (zone === undefined || zone === '') return null;
  if (zone === 'Z' || zone === 'UTC' || zone === 'GMT' || zone === 'UT') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (m === null) return null; // CET, EST…: ambiguous abbreviations, treated as unknown
  return (m[1] === '-' ? -1 : 1) * (num(m[2]) * 60 + num(m[3]));
}

function wallClock(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || s > 60) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, s, ms);
}

// Order matters: longer, more specific forms claim their text first.
const PATTERNS: Pattern[] = [
  {
    format: 'ISO 8601',
    re: /(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?(?![\d])/g,
    parse: (m) => {
      const frac = m[7] ?? '';
      const wall = wallClock(num(m[1]), num(m[2]), num(m[3]), num(m[4]), num(m[5]), num(m[6]), Math.floor(Number(`0.${frac || '0'}`) * 1000));
      if (wall === undefined) return undefined;
      const precisionMs = m[4] === undefined ? DAY_MS : m[6] === undefined ? 60 * SECOND : frac ? 1 : SECOND;
      return { wall, offsetMin: offsetOf(m[8]), precisionMs };
    },
  },
  {
    format: 'date(1)',
    re: new RegExp(`${DAY} ${MON} +(\\d{1,2}) (\\d{2}):(\\d{2}):(\\d{2}) (?:([A-Z]{2,5}|[+-]\\d{4}) )?(\\d{4})`, 'g'),
    parse: (m) => {
      const wall = wallClock(num(m[7]), month(m[1]!), num(m[2]), num(m[3]), num(m[4]), num(m[5]));
      return wall === undefined ? undefined : { wall, offsetMin: offsetOf(m[6]), precisionMs: SECOND };
    },
  },
  {
    format: 'RFC 2822',
    re: new RegExp(`(?:${DAY}, )?(\\d{1,2}) ${MON} (\\d{4}) (\\d{2}):(\\d{2})(?::(\\d{2}))? ([+-]\\d{4}|UT|GMT|[A-Z]{3})`, 'g'),
    parse: (m) => {
      const wall = wallClock(num(m[3]), month(m[2]!), num(m[1]), num(m[4]), num(m[5]), num(m[6]));
      return wall === undefined ? undefined : { wall, offsetMin: offsetOf(m[7]), precisionMs: m[6] === undefined ? 60 * SECOND : SECOND };
    },
  },
  {
    // printf("%s %s", __DATE__, __TIME__): "Nov 21 2026 21:03:11", or the date alone
    format: '__DATE__/__TIME__',
    re: new RegExp(`${MON} ([ \\d]\\d) (\\d{4})(?:,? (\\d{2}):(\\d{2}):(\\d{2}))?`, 'g'),
    parse: (m) => {
      const wall = wallClock(num(m[3]), month(m[1]!), num(m[2]!.trim()), num(m[4]), num(m[5]), num(m[6]));
      return wall === undefined ? undefined : { wall, offsetMin: null, precisionMs: m[4] === undefined ? DAY_MS : SECOND };
    },
  },
  {
    format: 'YYYYMMDDHHMMSS',
    re: /(?<!\d)(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?!\d)/g,
    parse: (m) => {
      const wall = wallClock(num(m[1]), num(m[2]), num(m[3]), num(m[4]), num(m[5]), num(m[6]));
      return wall === undefined ? undefined : { wall, offsetMin: null, precisionMs: SECOND };
    },
  },
  {
    format: 'epoch milliseconds',
    re: /(?<![\d.])1\d{12}(?![\d])/g,
    parse: (m) => ({ wall: Number(m[0]), offsetMin: 0, precisionMs: 1 }),
  },
  {
    format: 'epoch seconds',
    re: /(?<![\d.])1\d{9}(?:\.\d{1,9})?(?![\d])/g,
    parse: (m) => ({ wall: Math.floor(Number(m[0]) * 1000), offsetMin: 0, precisionMs: m[0].includes('.') ? 1 : SECOND }),
  },
  {
    // __TIME__ alone, or any bare HH:MM:SS: compared against the time of day of the windows
    format: '__DATE__/__TIME__',
    re: /(?<![\d:])(\d{2}):(\d{2}):(\d{2})(?![\d:])/g,
    parse: (m) => {
      const [h, mi, s] = [num(m[1]), num(m[2]), num(m[3])];
      if (h > 23 || mi > 59 || s > 60) return undefined;
      return { wall: ((h * 60 + mi) * 60 + s) * SECOND, offsetMin: null, precisionMs: SECOND, timeOnly: true };
    },
  },
];

/**
 * Every timestamp in `text`, non-overlapping, in order. `zones` are the IANA zones the runs
 * used (e.g. `Europe/Berlin`), for timestamps written without a zone; `days` are midnights
 * (UTC ms) of the days the runs happened, for a time of day without a date.
 */
export function findTimestamps(text: string, zones: readonly string[] = [], days: readonly number[] = []): FoundTimestamp[] {
  const claimed: [number, number][] = [];
  const found: FoundTimestamp[] = [];
  for (const p of PATTERNS) {
    for (const m of text.matchAll(p.re)) {
      const start = m.index;
      const end = start + m[0].length;
      if (claimed.some(([s, e]) => start < e && end > s)) continue;
      const parsed = p.parse(m as RegExpExecArray);
      if (parsed === undefined) continue;
      claimed.push([start, end]);
      found.push({ text: m[0], index: start, format: p.format, ranges: rangesOf(parsed, zones, days) });
    }
  }
  return found.sort((a, b) => a.index - b.index);
}

function rangesOf(p: Parsed, zones: readonly string[], days: readonly number[]): [number, number][] {
  const walls = p.timeOnly ? days.flatMap((d) => [d - DAY_MS, d, d + DAY_MS]).map((d) => d + p.wall) : [p.wall];
  const out: [number, number][] = [];
  for (const wall of walls) {
    const offsets = p.offsetMin !== null ? [p.offsetMin * 60_000] : [0, ...zones.map((z) => zoneOffsetMs(z, wall))];
    for (const off of new Set(offsets)) out.push([wall - off, wall - off + p.precisionMs]);
  }
  return out;
}

/** Whether the timestamp may denote an instant inside one of the windows. */
export function inWindows(t: FoundTimestamp, windows: readonly Window[]): boolean {
  return t.ranges.some(([from, to]) => windows.some((w) => from <= w.end + SLACK_MS && to > w.start - SLACK_MS));
}

/** Whether an epoch-seconds value falls inside one of the windows. */
export function epochInWindows(seconds: number, windows: readonly Window[]): boolean {
  const ms = seconds * 1000;
  return windows.some((w) => ms + SECOND > w.start - SLACK_MS && ms <= w.end + SLACK_MS);
}

/** Offset of `timeZone` from UTC (ms) at about the instant whose wall clock there is `wall`; 0 for an unknown zone. */
export function zoneOffsetMs(timeZone: string, wall: number): number {
  try {
    const fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    const at = (instant: number): number => {
      const parts = Object.fromEntries(fmt.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
      const local = Date.UTC(num(parts.year), num(parts.month) - 1, num(parts.day), num(parts.hour), num(parts.minute), num(parts.second));
      return local - Math.floor(instant / 1000) * 1000;
    };
    // the offset at the instant the wall clock suggests, corrected once for a DST boundary
    const guess = at(wall);
    return at(wall - guess);
  } catch {
    return 0;
  }
}

/** `2026-11-21T21:03:11Z` */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
