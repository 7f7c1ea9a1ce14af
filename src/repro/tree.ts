import { compareBytes } from '../archive/paths.js';
import { openArchive, type OpenedArchive } from './archive.js';
import { diagnoseBinary } from './binary.js';
import {
  diagnoseMtime,
  diagnoseMode,
  diagnoseOwner,
  diagnoseRegions,
  diagnoseText,
  evidenceOf,
  inside,
  octal,
  orderCause,
  q,
  type Evidence,
} from './causes.js';
import { asText, unifiedDiff } from './text.js';
import { causeRank, DIFF_KINDS, type CauseKind, type DiffContext, type DiffEntry, type DiffKind, type DiffOptions, type FileSide, type LikelyCause } from './types.js';
import { epochInWindows, isoSeconds } from './timestamps.js';

type Settings = Required<DiffOptions>;

const DEFAULTS: Settings = { strictMtime: false, maxDiffLines: 200, maxDepth: 3, maxReadBytes: 64 * 1024 * 1024 };

/**
 * Compares two trees path by path and says, for each path that differs, what differs and
 * the likely cause, with the evidence quoted. Files are read only when their digests are
 * unknown or differ; archives (tar, cpio, ar, .deb, gzip, zip) are opened and their members compared
 * the same way, down to `maxDepth` levels. Entries are sorted by path (byte order); paths
 * that are the same on both sides are left out, and so are files whose content cannot be
 * compared (no digest, no `read`, or too large to read) when their metadata matches.
 */
export async function diffTrees(a: readonly FileSide[], b: readonly FileSide[], ctx: DiffContext, opts: DiffOptions = {}): Promise<DiffEntry[]> {
  const s: Settings = { ...DEFAULTS, ...definedOnly(opts) };
  for (const key of ['maxDiffLines', 'maxDepth', 'maxReadBytes'] as const) {
    if (!Number.isSafeInteger(s[key]) || s[key] < 0) throw new TypeError(`Expected \`${key}\` to be an integer >= 0, got \`${String(s[key])}\``);
  }
  return diffLevel(a, b, evidenceOf(ctx), s, 0, s.strictMtime);
}

async function diffLevel(a: readonly FileSide[], b: readonly FileSide[], ev: Evidence, s: Settings, depth: number, mtimes: boolean): Promise<DiffEntry[]> {
  const byPath = (xs: readonly FileSide[]): Map<string, FileSide> => new Map(xs.map((x) => [x.path, x]));
  const mapA = byPath(a);
  const mapB = byPath(b);
  const paths = [...new Set([...mapA.keys(), ...mapB.keys()])].sort(compareBytes);
  const out: DiffEntry[] = [];
  for (const path of paths) {
    const x = mapA.get(path);
    const y = mapB.get(path);
    if (y === undefined) out.push({ path, differs: ['only-in-a'] });
    else if (x === undefined) out.push({ path, differs: ['only-in-b'] });
    else {
      const entry = await compareOne(x, y, ev, s, depth, mtimes);
      if (entry !== undefined) out.push(entry);
    }
  }
  return out;
}

async function compareOne(x: FileSide, y: FileSide, ev: Evidence, s: Settings, depth: number, mtimes: boolean): Promise<DiffEntry | undefined> {
  const path = x.path;
  if (x.type !== y.type) return { path, differs: ['type'], note: `${x.type} vs ${y.type}` };
  const differs = new Set<DiffKind>();
  const both = <T>(f: (v: FileSide) => T | undefined): boolean => f(x) !== undefined && f(y) !== undefined && f(x) !== f(y);
  if (both((v) => (v.mode === undefined ? undefined : v.mode & 0o7777))) differs.add('mode');
  if (both((v) => v.uid) || both((v) => v.gid) || both((v) => v.uname) || both((v) => v.gname)) differs.add('owner');
  if (mtimes && both((v) => v.mtime)) differs.add('mtime');
  if (x.target !== y.target) differs.add('target');
  if (both((v) => v.size)) differs.add('size');

  const entry: DiffEntry = { path, differs: [] };
  if (x.type === 'file') {
    const content = await compareContent(x, y, differs.has('size'), s);
    if (content.differs) {
      differs.add('content');
      Object.assign(entry, await analyse(path, content.a, content.b, x, y, ev, s, depth));
    } else if (content.note !== undefined) {
      entry.note = content.note;
    }
  }
  if (differs.size === 0) return undefined;
  entry.differs = DIFF_KINDS.filter((k) => differs.has(k));
  entry.likelyCause ??= metadataCause(x, y, differs, ev);
  if (entry.likelyCause === undefined) delete entry.likelyCause;
  return entry;
}

interface ContentVerdict {
  differs: boolean;
  /** the contents, when they were read */
  a?: Buffer;
  b?: Buffer;
  note?: string;
}

async function compareContent(x: FileSide, y: FileSide, sizesDiffer: boolean, s: Settings): Promise<ContentVerdict> {
  if (x.digest !== undefined && y.digest !== undefined && x.digest === y.digest) return { differs: false };
  const knownDifferent = sizesDiffer || (x.digest !== undefined && y.digest !== undefined);
  if (x.read === undefined || y.read === undefined) {
    return knownDifferent ? { differs: true } : { differs: false, note: 'content not available on both sides; not compared' };
  }
  if ((x.size ?? 0) > s.maxReadBytes || (y.size ?? 0) > s.maxReadBytes) {
    return knownDifferent ? { differs: true } : { differs: false, note: `larger than ${s.maxReadBytes} bytes without digests: not compared` };
  }
  const [a, b] = await Promise.all([x.read(), y.read()]);
  return { differs: !a.equals(b), a, b };
}

async function analyse(
  path: string,
  a: Buffer | undefined,
  b: Buffer | undefined,
  x: FileSide,
  y: FileSide,
  ev: Evidence,
  s: Settings,
  depth: number,
): Promise<Partial<DiffEntry>> {
  if (a === undefined || b === undefined) {
    const big = Math.max(x.size ?? 0, y.size ?? 0) > s.maxReadBytes;
    return { note: big ? `larger than ${s.maxReadBytes} bytes: compared by digest only` : 'content not available: compared by digest only' };
  }
  const notes: string[] = [];
  const opened = await openBoth(path, a, b, s, depth, notes);
  if (opened !== undefined) {
    const members = await diffLevel(opened[0].members, opened[1].members, ev, s, depth + 1, true);
    return { members, likelyCause: archiveCause(opened[0], opened[1], members, ev) };
  }
  const note = notes.length > 0 ? { note: notes.join('; ') } : {};
  const ta = asText(a);
  const tb = asText(b);
  if (ta !== undefined && tb !== undefined) {
    const diff = unifiedDiff(path, ta, tb, s.maxDiffLines);
    return { ...(diff === undefined ? {} : { unifiedDiff: diff }), likelyCause: diagnoseText(ta, tb, ev), ...note };
  }
  return { likelyCause: diagnoseBinary(a, b, ev), ...note };
}

/** Both sides opened as the same kind of archive, or undefined (with a note saying why not, when it matters). */
async function openBoth(path: string, a: Buffer, b: Buffer, s: Settings, depth: number, notes: string[]): Promise<[OpenedArchive, OpenedArchive] | undefined> {
  let pair: [OpenedArchive | undefined, OpenedArchive | undefined];
  try {
    pair = [await openArchive(a, path, s.maxReadBytes), await openArchive(b, path, s.maxReadBytes)];
  } catch (e) {
    notes.push(`not opened as an archive: ${(e as Error).message}`);
    return undefined;
  }
  const [oa, ob] = pair;
  if (oa === undefined || ob === undefined) return undefined;
  if (oa.kind !== ob.kind) {
    notes.push(`${oa.kind} vs ${ob.kind}`);
    return undefined;
  }
  if (depth >= s.maxDepth) {
    notes.push(`${oa.kind} not opened: maxDepth ${s.maxDepth} reached`);
    return undefined;
  }
  return [oa, ob];
}


/** Why two archives differ: the strongest member cause (naming the others), else their order, else the gzip header. */
function archiveCause(a: OpenedArchive, b: OpenedArchive, members: readonly DiffEntry[], ev: Evidence): LikelyCause {
  const order = orderCause(a.order, b.order, 'member', ev);
  const withCause = members
    .filter((m) => m.likelyCause !== undefined)
    .sort((x, y) => causeRank(x.likelyCause!.cause) - causeRank(y.likelyCause!.cause));
  const best = withCause[0];
  if (best !== undefined && (best.likelyCause!.cause !== 'unknown' || order === undefined)) {
    const others = new Map<CauseKind, string>();
    for (const m of withCause) {
      const c = m.likelyCause!.cause;
      if (c !== best.likelyCause!.cause && c !== 'unknown' && !others.has(c)) others.set(c, m.path);
    }
    const also = [...others].map(([c, path]) => `${c} in ${path}`);
    if (order !== undefined) also.push(`member order (${order.cause})`);
    const kinds = [...new Set([...(best.likelyCause!.also ?? []), ...others.keys(), ...(order !== undefined ? [order.cause] : [])])];
    const field = best.likelyCause!.field ?? memberField(a.kind, best);
    return {
      cause: best.likelyCause!.cause,
      evidence: `${best.path}: ${best.likelyCause!.evidence}${also.length > 0 ? `; also ${also.join(', ')}` : ''}`,
      ...(field !== undefined ? { field } : {}),
      ...(kinds.length > 0 ? { also: kinds } : {}),
    };
  }
  if (order !== undefined) return order;
  const header = gzipCause(a, b, ev);
  if (header !== undefined) return header;
  const onlyIn = members.filter((m) => m.differs.includes('only-in-a') || m.differs.includes('only-in-b'));
  if (onlyIn.length > 0) {
    return { cause: 'unknown', evidence: `members present on one side only: ${onlyIn.slice(0, 5).map((m) => m.path).join(', ')}${onlyIn.length > 5 ? ', …' : ''}` };
  }
  if (members.length > 0) return { cause: 'unknown', evidence: `${members[0]!.path}: ${members[0]!.differs.join(', ')} differ` };
  // fields of the archive itself that are not members: cpio inode numbers, an ar symbol table
  const fields = [...new Set([...Object.keys(a.fields ?? {}), ...Object.keys(b.fields ?? {})])].filter((f) => a.fields?.[f] !== b.fields?.[f]);
  if (fields.length > 0) {
    return {
      cause: 'unknown',
      evidence: `members, their metadata and order are the same; ${fields.join(', ')} differ${fields.includes('cpio inode numbers') ? ' (the files were copied or created anew: cpio --reproducible renumbers them)' : ''}`,
      field: `${a.kind} ${fields[0]!}`,
    };
  }
  return { cause: 'unknown', evidence: `${a.kind} bytes differ but members, their metadata and order are the same (header fields, padding or compression)` };
}

/** The member field a metadata difference is in, named for the archive's format (`tar member mtime`). */
function memberField(kind: string, m: DiffEntry): string | undefined {
  const format = kind.replace(/\.gz$/, '');
  const meta = (['mtime', 'owner', 'mode'] as const).find((k) => m.differs.includes(k));
  if (meta !== undefined && !m.differs.includes('content')) return `${format} member ${meta}`;
  return m.differs.includes('content') ? `${format} member content` : undefined;
}

function gzipCause(a: OpenedArchive, b: OpenedArchive, ev: Evidence): LikelyCause | undefined {
  const [ha, hb] = [a.gzip, b.gzip];
  if (ha === undefined || hb === undefined) return undefined;
  if (ha.mtime !== hb.mtime) {
    const [ia, ib] = [epochInWindows(ha.mtime, ev.windows), epochInWindows(hb.mtime, ev.windows)];
    const times = `${ha.mtime} (${isoSeconds(ha.mtime * 1000)}) vs ${hb.mtime} (${isoSeconds(hb.mtime * 1000)})`;
    return ia || ib
      ? { cause: 'timestamp', evidence: `gzip header mtime ${times}, ${inside(ia, ib)}`, field: 'gzip header mtime' }
      : { cause: 'unknown', evidence: `gzip header mtime ${times}`, field: 'gzip header mtime' };
  }
  if (ha.name !== hb.name) {
    const region = { where: 'gzip header name', a: ha.name ?? '', b: hb.name ?? '' };
    return { ...(diagnoseRegions([region], ev) ?? { cause: 'unknown', evidence: `gzip header name ${q(region.a)} vs ${q(region.b)}` }), field: 'gzip header name' };
  }
  if (ha.xfl !== hb.xfl || ha.os !== hb.os) {
    return { cause: 'unknown', evidence: `gzip header flags differ (XFL ${ha.xfl} vs ${hb.xfl}, OS ${ha.os} vs ${hb.os}): another compression level or gzip implementation` };
  }
  return undefined;
}

/**
 * A cause for metadata differences: mtimes in a build window, owners that are
 * the build user, modes under two umasks, link targets. The first found is the
 * cause; the others found are named beside it (`also`), since one member often
 * carries its mtime, owner and mode at once.
 */
function metadataCause(x: FileSide, y: FileSide, differs: ReadonlySet<DiffKind>, ev: Evidence): LikelyCause | undefined {
  const found: LikelyCause[] = [];
  const unknown: string[] = [];
  if (differs.has('mtime')) {
    const t = diagnoseMtime(x.mtime!, y.mtime!, ev);
    if (t !== undefined) found.push(t);
    else unknown.push(`mtime ${isoSeconds(x.mtime! * 1000)} vs ${isoSeconds(y.mtime! * 1000)}, outside the build windows`);
  }
  if (differs.has('owner')) {
    const o = diagnoseOwner({ name: x.uname, uid: x.uid, gid: x.gid }, { name: y.uname, uid: y.uid, gid: y.gid }, ev);
    if (o !== undefined) found.push(o);
    else unknown.push(`owner ${owner(x)} vs ${owner(y)}`);
  }
  if (differs.has('mode')) {
    const m = diagnoseMode(x.mode!, y.mode!, ev);
    if (m !== undefined) found.push(m);
    else unknown.push(`mode ${octal(x.mode!)} vs ${octal(y.mode!)}`);
  }
  if (differs.has('target')) {
    const region = { where: 'link target', a: x.target ?? '', b: y.target ?? '' };
    found.push(diagnoseRegions([region], ev) ?? { cause: 'unknown', evidence: `link target ${q(region.a)} vs ${q(region.b)}` });
  }
  const [first, ...rest] = found;
  if (first === undefined) return unknown.length > 0 ? { cause: 'unknown', evidence: unknown.join('; ') } : undefined;
  if (rest.length === 0) return first;
  return { cause: first.cause, evidence: [first, ...rest].map((c) => c.evidence).join('; '), also: rest.map((c) => c.cause) };
}

function owner(v: FileSide): string {
  const ids = `${v.uid ?? '?'}:${v.gid ?? '?'}`;
  return v.uname !== undefined || v.gname !== undefined ? `${v.uname ?? ''}:${v.gname ?? ''} (${ids})` : ids;
}


function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
