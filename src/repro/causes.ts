import { diffArrays } from 'diff';

import { classifyOrder } from './order.js';
import { epochInWindows, findTimestamps, inWindows, isoSeconds, type Window } from './timestamps.js';
import { CAUSE_RANK, type CauseKind, type DiffContext, type LikelyCause, type RunFacts } from './types.js';

/**
 * Likely causes, found from evidence in the differing bytes. Every detector looks at
 * "regions": what side a has where side b has something else (changed lines of text, or
 * the printable strings around differing bytes). The strongest cause (CAUSE_RANK) wins; the
 * others found are mentioned after it, since one line often carries several.
 */

/** One place where the sides differ: a human position and each side's text there. */
export interface Region {
  where: string;
  a: string;
  b: string;
}

const MAX_REGIONS = 50;
const SNIPPET = 72;
/** Aligning lines is quadratic at worst; past this, only the first differing line is examined. */
const LINE_DIFF_TIMEOUT_MS = 2_000;

/** Facts about the runs, derived once per comparison. */
export interface Evidence {
  windows: Window[];
  zones: string[];
  /** UTC midnights of the days the runs touched */
  days: number[];
  runs: RunFacts[];
}

export function evidenceOf(ctx: DiffContext): Evidence {
  const windows = ctx.runs.map((r) => ({ start: r.startedAt.getTime(), end: r.finishedAt.getTime() }));
  const days = new Set<number>();
  for (const w of windows) for (const t of [w.start, w.end]) days.add(Math.floor(t / 86_400_000) * 86_400_000);
  return { windows, zones: [...new Set(ctx.runs.map((r) => r.tz).filter((z) => z !== ''))], days: [...days], runs: ctx.runs };
}

/** Why two texts differ: their line order first, then what the changed lines contain. */
export function diagnoseText(a: string, b: string, ev: Evidence): LikelyCause {
  const linesA = splitLines(a);
  const linesB = splitLines(b);
  const order = orderCause(linesA, linesB, 'line', ev);
  if (order !== undefined) return order;
  const regions = lineRegions(linesA, linesB);
  return diagnoseRegions(regions, ev) ?? unknownCause(regions[0]);
}

/** Entries (lines, archive members) in another order: sorted under another locale, or not sorted at all. */
export function orderCause(a: readonly string[], b: readonly string[], noun: 'line' | 'member', ev: Evidence): LikelyCause | undefined {
  const verdict = classifyOrder(a, b);
  if (verdict.kind === 'same-order' || verdict.kind === 'different-content') return undefined;
  const at = `first difference at ${noun} ${verdict.firstDiff + 1}: ${q(a[verdict.firstDiff]!)} vs ${q(b[verdict.firstDiff]!)}`;
  const same = `same ${a.length} ${noun}s in a different order`;
  if (noun === 'line' && [...a, ...b].every((l) => ENV_LINE.test(l))) {
    const reversed = ev.runs.map((r, i) => (r.envReversed ? `run ${i + 1} passed its environment in reverse order` : undefined)).filter(Boolean);
    return { cause: 'env-order', evidence: `${same}, every one a NAME=value environment entry${reversed.length > 0 ? ` (${reversed.join(', ')})` : ''}; ${at}` };
  }
  if (verdict.kind === 'locale-sort') {
    const [bytes, locale] = verdict.byteSide === 'a' ? ['a', 'b'] : ['b', 'a'];
    const locales = [...new Set(ev.runs.map((r) => r.locale))];
    const runs = locales.length > 1 ? ` (the runs had ${locales.map((l) => l || '(unset)').join(' vs ')})` : '';
    return {
      cause: 'locale-sort',
      evidence: `${same}: ${bytes} is in byte order (LC_ALL=C), ${locale} in a locale's order (like en_US.UTF-8)${runs}; ${at}`,
    };
  }
  const sorted = verdict.sortedSide === undefined ? 'neither side is sorted' : `only ${verdict.sortedSide} is sorted`;
  return { cause: 'file-order', evidence: `${same}, ${sorted} (directory listing or hash order?); ${at}` };
}

/** An mtime difference: a clock read during the build, or something older (a copied file's time). */
export function diagnoseMtime(a: number, b: number, ev: Evidence): LikelyCause | undefined {
  const ia = epochInWindows(a, ev.windows);
  const ib = epochInWindows(b, ev.windows);
  if (!ia && !ib) return undefined;
  return { cause: 'timestamp', evidence: `mtime ${isoSeconds(a * 1000)} vs ${isoSeconds(b * 1000)}, ${inside(ia, ib)}` };
}

/** A line of `env` output. */
const ENV_LINE = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** Owners that are the building users': numeric ids first (what an archive always records), then names. */
export function diagnoseOwner(a: Owner, b: Owner, ev: Evidence): LikelyCause | undefined {
  const users = new Set(ev.runs.map((r) => r.user));
  const byName =
    a.name !== b.name && ((a.name !== undefined && users.has(a.name)) || (b.name !== undefined && users.has(b.name)))
      ? { cause: 'username' as const, evidence: `owner ${q(a.name ?? '')} vs ${q(b.name ?? '')}: the building user's name is recorded` }
      : undefined;
  const ids = new Set(ev.runs.flatMap((r) => [r.uid, r.gid]).filter((n) => n !== undefined));
  const differing = (['uid', 'gid'] as const).filter((k) => a[k] !== b[k] && (ids.has(a[k]!) || ids.has(b[k]!)));
  if (differing.length === 0) return byName;
  const shown = differing.map((k) => `${k} ${a[k] ?? '?'} vs ${b[k] ?? '?'}`).join(', ');
  const ran = ev.runs.map((r, i) => `run ${i + 1} ran as ${r.uid ?? '?'}:${r.gid ?? '?'}`).join(', ');
  const byId = { cause: 'uid-gid' as const, evidence: `${shown}: the building user's ids are recorded (${ran})` };
  return byName === undefined ? byId : { ...byId, evidence: `${byId.evidence}; ${byName.evidence}`, also: ['username'] };
}

export interface Owner {
  name?: string | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
}

/** Modes that are one mode under two umasks: `base & ~umask` on each side, with the runs' own umasks. */
export function diagnoseMode(a: number, b: number, ev: Evidence): LikelyCause | undefined {
  const [ra, rb] = ev.runs;
  if (ra === undefined || rb === undefined || ra.umask === rb.umask) return undefined;
  const [ua, ub] = [parseInt(ra.umask, 8), parseInt(rb.umask, 8)];
  const base = (a | b) & 0o777;
  if (((base & ~ua) !== (a & 0o777)) || ((base & ~ub) !== (b & 0o777))) return undefined;
  return {
    cause: 'umask',
    evidence: `mode ${octal(a)} vs ${octal(b)}: ${octal(base)} masked by run 1's umask ${ra.umask} and run 2's ${rb.umask}`,
  };
}

export function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

/** The highest-priority cause any region shows, with the others found named after it. */
export function diagnoseRegions(regions: readonly Region[], ev: Evidence): LikelyCause | undefined {
  const found = new Map<CauseKind, LikelyCause>();
  for (const r of regions.slice(0, MAX_REGIONS)) {
    for (const f of [timestampIn(r, ev), ...valuesIn(r, ev), addressIn(r), randomIn(r)]) {
      if (f !== undefined && !found.has(f.cause)) found.set(f.cause, f);
    }
  }
  const ranked = CAUSE_RANK.filter((c) => found.has(c));
  if (ranked.length === 0) return undefined;
  const best = found.get(ranked[0]!)!;
  const also = ranked.slice(1);
  return also.length === 0 ? best : { cause: best.cause, evidence: `${best.evidence} (also: ${also.join(', ')})`, also };
}

function timestampIn(r: Region, ev: Evidence): LikelyCause | undefined {
  const tsA = findTimestamps(r.a, ev.zones, ev.days).filter((t) => !r.b.includes(t.text));
  const tsB = findTimestamps(r.b, ev.zones, ev.days).filter((t) => !r.a.includes(t.text));
  const inA = tsA.filter((t) => inWindows(t, ev.windows));
  const inB = tsB.filter((t) => inWindows(t, ev.windows));
  if (inA.length === 0 && inB.length === 0) return undefined;
  const ta = inA[0] ?? tsA[0];
  const tb = inB[0] ?? tsB[0];
  const format = (ta ?? tb)!.format;
  return {
    cause: 'timestamp',
    evidence: `${r.where}: ${q(snippet(r.a, ta?.index, ta?.text.length))} vs ${q(snippet(r.b, tb?.index, tb?.text.length))}, ${inside(inA.length > 0, inB.length > 0)} (${format})`,
  };
}

/**
 * Values each run was given, looked for in the differing bytes. A value counts
 * when it appears more often on the side of the run that had it (and, for bare
 * numbers, only when both sides show their own run's value: a lone "2" proves
 * nothing).
 */
interface ValueFact {
  cause: CauseKind;
  label: string;
  values: (run: RunFacts) => string[];
  /** how a value is delimited: anywhere (paths), as a word, or as a whole number */
  match: 'substring' | 'word' | 'number';
}

const VALUE_FACTS: ValueFact[] = [
  { cause: 'build-path', label: 'build path', match: 'substring', values: (r) => [r.buildPath.replace(/\/+$/, '')] },
  { cause: 'hostname', label: 'hostname', match: 'word', values: (r) => [r.hostname, r.domainname, r.domainname ? `${r.hostname}.${r.domainname}` : ''] },
  { cause: 'username', label: 'user name', match: 'word', values: (r) => (/^\d+$/.test(r.user) ? [] : [r.user]) },
  { cause: 'uid-gid', label: 'uid/gid', match: 'number', values: (r) => [r.uid, r.gid].filter((n) => n !== undefined).map(String) },
  { cause: 'timezone', label: 'time zone', match: 'word', values: zoneTokens },
  { cause: 'locale', label: 'locale', match: 'word', values: (r) => [r.locale] },
  { cause: 'umask', label: 'umask', match: 'number', values: (r) => [r.umask, r.umask.replace(/^0(?=\d{3}$)/, '')] },
  { cause: 'cpu-count', label: 'CPU count', match: 'number', values: (r) => (r.cpus > 0 ? [String(r.cpus)] : []) },
];

/** How a run's time zone shows in text: its names and its UTC offset as date(1) prints it. */
export function zoneTokens(r: RunFacts): string[] {
  const tokens = new Set<string>([r.tz, r.tzValue]);
  const offset = zoneOffsetHours(r);
  if (offset !== undefined) {
    const sign = offset < 0 ? '-' : '+';
    const hh = String(Math.abs(offset)).padStart(2, '0');
    for (const t of [`${sign}${hh}`, `${sign}${hh}00`, `${sign}${hh}:00`]) tokens.add(t);
    if (offset === 0) for (const t of ['UTC', 'GMT']) tokens.add(t);
  }
  tokens.delete('');
  return [...tokens];
}

/** Whole-hour offset east of UTC of the zones this tool sets (POSIX `<+14>-14`, `Etc/GMT-14`, UTC); undefined for others. */
function zoneOffsetHours(r: RunFacts): number | undefined {
  if (r.tzValue === '' && (r.tz === 'UTC' || r.tz === '')) return 0;
  const posix = /^<[+-]\d+>([+-]?)(\d+)$/.exec(r.tzValue);
  if (posix) return (posix[1] === '-' ? 1 : -1) * Number(posix[2]);
  const etc = /^Etc\/GMT([+-])(\d+)$/.exec(r.tz);
  if (etc) return (etc[1] === '-' ? 1 : -1) * Number(etc[2]);
  return undefined;
}

function valueRegExp(v: string, match: ValueFact['match']): RegExp {
  const e = escapeRe(v);
  if (match === 'substring') return new RegExp(e, 'g');
  if (match === 'number') return new RegExp(`(?<![0-9A-Za-z.])${e}(?![0-9A-Za-z])`, 'g');
  return new RegExp(`(?<![A-Za-z0-9_.+-])${e}(?![A-Za-z0-9_+-])`, 'g');
}

/** A value a run was given, appearing on its own side of a region more often than on the other. */
function valuesIn(r: Region, ev: Evidence): (LikelyCause | undefined)[] {
  const [runA, runB] = ev.runs;
  if (runA === undefined || runB === undefined) return [];
  return VALUE_FACTS.map(({ cause, label, values, match }) => {
    const usable = (xs: string[]) => [...new Set(xs)].filter((v) => v.length >= (match === 'number' ? 1 : 2) && v !== '/');
    const va = usable(values(runA));
    const vb = usable(values(runB));
    const own = (mine: string[], theirs: string[], text: string, other: string) => {
      for (const v of mine.filter((x) => !theirs.includes(x))) {
        const re = valueRegExp(v, match);
        const here = [...text.matchAll(re)];
        if (here.length > [...other.matchAll(re)].length) return { v, at: here[0]!.index };
      }
      return undefined;
    };
    const ha = own(va, vb, r.a, r.b);
    const hb = own(vb, va, r.b, r.a);
    if (match === 'number' ? ha === undefined || hb === undefined : ha === undefined && hb === undefined) return undefined;
    const whose = [ha && `${q(ha.v)} is the ${label} of run 1`, hb && `${q(hb.v)} is the ${label} of run 2`].filter(Boolean).join(', ');
    return {
      cause,
      evidence: `${r.where}: ${q(snippet(r.a, ha?.at, ha?.v.length))} vs ${q(snippet(r.b, hb?.at, hb?.v.length))}; ${whose}`,
    };
  });
}

/** Tokens that look like memory addresses (ASLR): 0x-prefixed, or the 12-digit x86-64 user-space ranges of /proc/self/maps. */
function addressIn(r: Region): LikelyCause | undefined {
  const tokens = (s: string) => [...s.matchAll(/(?<![0-9A-Za-z])(?:0x[0-9a-f]{6,16}|(?:7f|55|56)[0-9a-f]{10})(?![0-9A-Za-z])/gi)];
  const ta = tokens(r.a);
  const tb = tokens(r.b);
  const setB = new Set(tb.map((m) => m[0]));
  const setA = new Set(ta.map((m) => m[0]));
  const x = ta.find((m) => !setB.has(m[0]));
  const y = tb.find((m) => !setA.has(m[0]));
  if (x === undefined || y === undefined) return undefined;
  return {
    cause: 'address',
    evidence: `${r.where}: ${q(snippet(r.a, x.index, x[0].length))} vs ${q(snippet(r.b, y.index, y[0].length))}; ${q(x[0])} and ${q(y[0])} look like memory addresses: a pointer printed or a mapping listed, placed at random by ASLR`,
  };
}

/** Tokens on each side, unique to it, that look like fresh random values of about the same length. */
function randomIn(r: Region): LikelyCause | undefined {
  const tokens = (s: string): RegExpExecArray[] => [...s.matchAll(/[A-Za-z0-9+/=_-]{8,}/g)];
  const ta = tokens(r.a);
  const tb = tokens(r.b);
  const setA = new Set(ta.map((m) => m[0]));
  const setB = new Set(tb.map((m) => m[0]));
  const onlyA = ta.filter((m) => !setB.has(m[0]) && randomKind(m[0]) !== undefined);
  const onlyB = tb.filter((m) => !setA.has(m[0]) && randomKind(m[0]) !== undefined);
  for (const x of onlyA) {
    // fresh random values differ almost everywhere; two paths that differ in one name share most of their ends
    const y = onlyB.find((m) => Math.abs(m[0].length - x[0].length) <= 2 && randomKind(m[0]) === randomKind(x[0]) && sharedEnds(x[0], m[0]) * 2 < Math.max(x[0].length, m[0].length));
    if (y === undefined) continue;
    return {
      cause: 'random',
      evidence: `${r.where}: ${q(snippet(r.a, x.index, x[0].length))} vs ${q(snippet(r.b, y.index, y[0].length))}; ${q(x[0])} and ${q(y[0])} look random (${randomKind(x[0])}, ${x[0].length} chars): a UUID, nonce, key or hash seed made per build`,
    };
  }
  return undefined;
}

/** How many characters two strings share at their start and end together. */
function sharedEnds(a: string, b: string): number {
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  return p + s;
}

/** Which kind of random-looking token this is, if any. */
export function randomKind(t: string): 'UUID' | 'hex' | 'base64' | undefined {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(t)) return 'UUID';
  const distinct = new Set(t.toLowerCase()).size;
  if (/^[0-9a-f]{8,}$/i.test(t) && /[a-f]/i.test(t) && /\d/.test(t) && distinct >= Math.min(8, t.length / 2)) return 'hex';
  const classes = [/[a-z]/, /[A-Z]/, /\d/].filter((re) => re.test(t)).length;
  if (/^[A-Za-z0-9+/_-]{12,}={0,2}$/.test(t) && classes === 3 && entropy(t) >= 3.2) return 'base64';
  return undefined;
}

/** Shannon entropy in bits per character. */
function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) h -= (n / s.length) * Math.log2(n / s.length);
  return h;
}

/** Changed hunks of a line diff as regions, positioned by side a's line numbers. */
function lineRegions(a: string[], b: string[]): Region[] {
  const regions: Region[] = [];
  let lineA = 1;
  let lineB = 1;
  let cur: { where: string; a: string[]; b: string[] } | undefined;
  const flush = (): void => {
    if (cur !== undefined) regions.push({ where: cur.where, a: cur.a.join('\n'), b: cur.b.join('\n') });
    cur = undefined;
  };
  const changes = diffArrays(a, b, { timeout: LINE_DIFF_TIMEOUT_MS });
  if (changes === undefined) {
    // too costly to align: the first line that differs stands for the rest
    const i = a.findIndex((line, k) => line !== b[k]);
    const at = i === -1 ? Math.min(a.length, b.length) : i;
    return [{ where: `line ${at + 1}`, a: a[at] ?? '', b: b[at] ?? '' }];
  }
  for (const change of changes) {
    if (!change.added && !change.removed) {
      flush();
      lineA += change.count ?? change.value.length;
      lineB += change.count ?? change.value.length;
      continue;
    }
    cur ??= { where: `line ${change.removed ? lineA : lineB}`, a: [], b: [] };
    if (change.removed) {
      cur.a.push(...change.value);
      lineA += change.value.length;
    } else {
      cur.b.push(...change.value);
      lineB += change.value.length;
    }
  }
  flush();
  return regions;
}

/** No cause found: the first differing place, quoted. */
export function unknownCause(r: Region | undefined): LikelyCause {
  if (r === undefined) return { cause: 'unknown', evidence: 'no differing region could be located' };
  return { cause: 'unknown', evidence: `${r.where}: ${q(snippet(r.a, 0, 0))} vs ${q(snippet(r.b, 0, 0))}` };
}

/** How many of the two sides' timestamps fall inside the runs' windows, in words. */
export function inside(a: boolean, b: boolean): string {
  return a && b ? 'both inside the build windows' : `only ${a ? "a's" : "b's"} inside a build window`;
}

function splitLines(s: string): string[] {
  const lines = s.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** The line of `text` holding [index, index+len), cut to a readable length around it. */
function snippet(text: string, index: number | undefined, len: number | undefined): string {
  const at = index ?? 0;
  const start = text.lastIndexOf('\n', at - 1) + 1;
  const nl = text.indexOf('\n', at);
  const line = text.slice(start, nl === -1 ? undefined : nl);
  const rel = at - start;
  if (line.length <= SNIPPET) return line;
  const from = Math.max(0, Math.min(rel - Math.floor((SNIPPET - (len ?? 0)) / 2), line.length - SNIPPET));
  return `${from > 0 ? '…' : ''}${line.slice(from, from + SNIPPET)}${from + SNIPPET < line.length ? '…' : ''}`;
}

/** 'text' with control characters escaped. */
export function q(s: string): string {
  // eslint-disable-next-line no-control-regex
  return `'${s.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))}'`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
