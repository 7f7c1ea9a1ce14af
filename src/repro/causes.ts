import { diffArrays } from 'diff';

import { classifyOrder } from './order.js';
import { epochInWindows, findTimestamps, inWindows, isoSeconds, type Window } from './timestamps.js';
import type { CauseKind, DiffContext, LikelyCause, RunFacts } from './types.js';

/**
 * Likely causes, found from evidence in the differing bytes. Every detector looks at
 * "regions": what side a has where side b has something else (changed lines of text, or
 * the printable strings around differing bytes). The first cause in PRIORITY wins; the
 * others found are mentioned after it, since one line often carries several.
 */

/** One place where the sides differ: a human position and each side's text there. */
export interface Region {
  where: string;
  a: string;
  b: string;
}

const PRIORITY: CauseKind[] = ['timestamp', 'build-path', 'hostname', 'username', 'random'];
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

/** Owner names that are the building users'. */
export function diagnoseOwner(a: string | undefined, b: string | undefined, ev: Evidence): LikelyCause | undefined {
  if (a === b) return undefined;
  const users = new Set(ev.runs.map((r) => r.user));
  if (!(a !== undefined && users.has(a)) && !(b !== undefined && users.has(b))) return undefined;
  return { cause: 'username', evidence: `owner ${q(a ?? '')} vs ${q(b ?? '')}: the building user's name is recorded` };
}

/** The highest-priority cause any region shows, with the others found named after it. */
export function diagnoseRegions(regions: readonly Region[], ev: Evidence): LikelyCause | undefined {
  const found = new Map<CauseKind, LikelyCause>();
  for (const r of regions.slice(0, MAX_REGIONS)) {
    for (const f of [timestampIn(r, ev), ...stringsIn(r, ev), randomIn(r)]) {
      if (f !== undefined && !found.has(f.cause)) found.set(f.cause, f);
    }
  }
  const ranked = PRIORITY.filter((c) => found.has(c));
  if (ranked.length === 0) return undefined;
  const best = found.get(ranked[0]!)!;
  const also = ranked.slice(1);
  return also.length === 0 ? best : { cause: best.cause, evidence: `${best.evidence} (also: ${also.join(', ')})` };
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

const STRING_FACTS: { field: 'buildPath' | 'hostname' | 'user'; cause: CauseKind; label: string; min: number }[] = [
  { field: 'buildPath', cause: 'build-path', label: 'build path', min: 2 },
  { field: 'hostname', cause: 'hostname', label: 'hostname', min: 2 },
  { field: 'user', cause: 'username', label: 'user name', min: 2 },
];

/** A run's hostname, build path or user name appearing more often on one side. */
function stringsIn(r: Region, ev: Evidence): (LikelyCause | undefined)[] {
  return STRING_FACTS.map(({ field, cause, label, min }) => {
    const values = [...new Set(ev.runs.map((run) => (field === 'buildPath' ? run[field].replace(/\/+$/, '') : run[field])))];
    const hits = values.filter((v) => v.length >= min && v !== '/').flatMap((v) => {
      const re = field === 'buildPath' ? new RegExp(escapeRe(v), 'g') : new RegExp(`(?<![A-Za-z0-9_.-])${escapeRe(v)}(?![A-Za-z0-9_-])`, 'g');
      const ma = [...r.a.matchAll(re)];
      const mb = [...r.b.matchAll(re)];
      return ma.length === mb.length ? [] : [{ v, at: ma[0]?.index, bt: mb[0]?.index }];
    });
    if (hits.length === 0) return undefined;
    const ia = hits.find((h) => h.at !== undefined);
    const ib = hits.find((h) => h.bt !== undefined && h !== ia) ?? hits.find((h) => h.bt !== undefined);
    const whose = hits.map((h) => {
      const runs = ev.runs.flatMap((run, i) => ((field === 'buildPath' ? run[field].replace(/\/+$/, '') : run[field]) === h.v ? [i + 1] : []));
      return `${q(h.v)} is the ${label} of run ${runs.join(' and ')}`;
    });
    return {
      cause,
      evidence: `${r.where}: ${q(snippet(r.a, ia?.at, ia?.v.length))} vs ${q(snippet(r.b, ib?.bt, ib?.v.length))}; ${whose.join(', ')}`,
    };
  });
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
    const y = onlyB.find((m) => Math.abs(m[0].length - x[0].length) <= 2 && randomKind(m[0]) === randomKind(x[0]));
    if (y === undefined) continue;
    return {
      cause: 'random',
      evidence: `${r.where}: ${q(snippet(r.a, x.index, x[0].length))} vs ${q(snippet(r.b, y.index, y[0].length))}; ${q(x[0])} and ${q(y[0])} look random (${randomKind(x[0])}, ${x[0].length} chars): a UUID, nonce, key or hash seed made per build`,
    };
  }
  return undefined;
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
