import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, sep } from 'node:path';
import { parseRootfsListing, type RootfsRecord } from '../archive/rootfs.js';
import { DEFAULT_HOSTNAME } from '../engine/variation.js';
import type { BlobReader, BlobRef } from '../proof/blob-reader.js';
import type { ImageRecord, RunRecord, StepRecord } from '../proof/run-record.js';
import type { Digest } from '../util/digest.js';
import { diffoscopeReport } from './diffoscope.js';
import type { ImageFiles, StrictMeasure } from './image-files.js';
import { diffTrees } from './tree.js';
import type { DiffContext, DiffEntry, FileSide, RunFacts } from './types.js';
import { ianaZone } from './variations.js';

/**
 * Two sealed runs of one spec, compared from what their bundles recorded: images by
 * normalized rootfs digest (and with `strict` by a listing with mtimes), cells by status
 * and exit codes (and with `logs` by stdout/stderr digests), outputs bit for bit. Where
 * they differ, `diffTrees` says what differs and the likely cause. Used by `repro`
 * (run 1 against each later run) and `replay` (the signed run against its replay).
 */

/** The umask steps start with when a run does not vary it (the engine's default). */
const DEFAULT_UMASK = '0022';

/**
 * What the cause finder needs to know about the run that made one side. `userNames`
 * (uid → name, from the images' /etc/passwd) gives the building user's name where the
 * policy names only ids: `nobody` in an output is then the user of run 1, not a word.
 */
export function runFacts(r: RunRecord, buildPath = '', userNames?: ReadonlyMap<number, string>): RunFacts {
  const v = r.variation;
  const user = v?.user ?? Object.values(r.users)[0] ?? '';
  const [uid, gid] = user.split(':').map((x) => (/^\d+$/.test(x) ? Number(x) : undefined));
  const name = uid !== undefined ? userNames?.get(uid) : undefined;
  const cpus = v?.cpuset !== undefined ? cpusetSize(v.cpuset) : (r.hostCpus ?? 0);
  return {
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    hostname: v?.hostname ?? DEFAULT_HOSTNAME,
    domainname: v?.domainname ?? '',
    buildPath: v?.workdir ?? buildPath,
    user: name ?? user.split(':')[0] ?? '',
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
    locale: v?.locale ?? '',
    tz: ianaZone(v?.tz),
    tzValue: v?.tz ?? '',
    umask: v?.umask ?? DEFAULT_UMASK,
    cpus,
    envReversed: v?.reverseEnvOrder ?? false,
  };
}

/** uid → user name from an /etc/passwd (the first name a uid has). */
export function passwdNames(passwd: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of passwd.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name && uid !== undefined && /^\d+$/.test(uid) && !names.has(Number(uid))) names.set(Number(uid), name);
  }
  return names;
}

/** How many CPUs a cpuset list ("0", "0-3", "0,2-3") names. */
export function cpusetSize(list: string): number {
  let n = 0;
  for (const part of list.split(',')) {
    if (part.trim() === '') continue;
    const [lo, hi] = part.split('-').map(Number);
    if (lo === undefined || Number.isNaN(lo)) continue;
    n += hi === undefined || Number.isNaN(hi) ? 1 : Math.max(0, hi - lo + 1);
  }
  return n;
}

// ---------------------------------------------------------------- comparing

export interface ImageComparison {
  key: string;
  name: string;
  a: { imageId: string; rootfsDigest: Digest } | null;
  b: { imageId: string; rootfsDigest: Digest } | null;
  same: boolean;
  /** with `strict`: the digests of listings that include mtimes */
  strict?: { a: Digest | null; b: Digest | null; same: boolean };
  differences: DiffEntry[];
  note?: string;
}

export interface StepComparison {
  cell: string;
  step: string;
  a: StepRecord | null;
  b: StepRecord | null;
  /** what differs: the exit code, and with `logs` the stdout and stderr */
  differs: ('missing' | 'exit' | 'stdout' | 'stderr')[];
}

export interface CellComparison {
  cell: string;
  /** the status on each side (null: the cell did not run there) */
  a: string | null;
  b: string | null;
  same: boolean;
  /** the error a side ended in, when it did */
  errors?: { a?: string; b?: string };
}

export interface OutputComparison {
  /** subject name: `<cell><output path>/<file>` */
  path: string;
  a: (BlobRef & { mode: number }) | null;
  b: (BlobRef & { mode: number }) | null;
  /** same content (and, with `strict`, same mode) */
  same: boolean;
}

export interface Comparison {
  a: string;
  b: string;
  reproducible: boolean;
  strict: boolean;
  /** whether stdout/stderr were compared */
  logs: boolean;
  images: ImageComparison[];
  cells: CellComparison[];
  steps: StepComparison[];
  outputs: OutputComparison[];
  /** what diffTrees said about the outputs (subject names as paths) */
  outputDifferences: DiffEntry[];
  /** with `logs`: what diffTrees said about differing stdout/stderr (`<cell>/<step>/stdout`) */
  logDifferences: DiffEntry[];
  /** what was not a difference but is worth knowing (modes outside strict, unread contents) */
  notes: string[];
  /** diffoscope's report on the differing outputs, when it is installed */
  diffoscope?: string;
}

export interface CompareOptions {
  blobs: { a: BlobReader; b: BlobReader };
  ctx: DiffContext;
  /** images also by mtimes; output modes count. Default false. */
  strict?: boolean;
  /** compare stdout/stderr digests of every step. Default false. */
  logs?: boolean;
  /** contents of image files, to show how two rootfs differ (else compared by digest only) */
  imageFiles?: ImageFiles;
  /** needed by `strict` */
  measureStrict?: StrictMeasure;
}

export async function compareRuns(a: RunRecord, b: RunRecord, opts: CompareOptions): Promise<Comparison> {
  const strict = opts.strict ?? false;
  const notes: string[] = [];
  const images = await compareImages(a, b, opts, strict);
  const { cells, steps } = compareCells(a, b, opts.logs ?? false);
  const outputs = await compareOutputs(a, b, opts, strict, notes);
  const logDifferences = opts.logs ? await diffLogs(steps, opts) : [];
  const reproducible =
    images.every((i) => i.same) && cells.every((c) => c.same) && steps.every((s) => s.differs.length === 0) && outputs.differences.length === 0;
  return {
    a: a.runId,
    b: b.runId,
    reproducible,
    strict,
    logs: opts.logs ?? false,
    images,
    cells,
    steps,
    outputs: outputs.table,
    outputDifferences: outputs.differences,
    logDifferences,
    notes: [...notes, ...images.flatMap((i) => (i.note ? [`image ${i.key}: ${i.note}`] : []))],
  };
}

async function compareImages(a: RunRecord, b: RunRecord, opts: CompareOptions, strict: boolean): Promise<ImageComparison[]> {
  const keys = [...new Set([...a.images, ...b.images].map((i) => i.key))].sort();
  const out: ImageComparison[] = [];
  for (const key of keys) {
    const x = a.images.find((i) => i.key === key);
    const y = b.images.find((i) => i.key === key);
    const side = (i: ImageRecord | undefined) => (i ? { imageId: i.imageId, rootfsDigest: i.rootfsDigest } : null);
    const c: ImageComparison = { key, name: (x ?? y)!.name, a: side(x), b: side(y), same: false, differences: [] };
    out.push(c);
    if (!x || !y) {
      c.note = `built only in ${x ? 'a' : 'b'}`;
      continue;
    }
    c.same = x.rootfsDigest === y.rootfsDigest;
    let listings: [Buffer | undefined, Buffer | undefined] | undefined;
    if (strict) {
      if (!opts.measureStrict) throw new TypeError('Expected `measureStrict` with `strict`');
      const [ma, mb] = [await opts.measureStrict(x.imageId), await opts.measureStrict(y.imageId)];
      c.strict = { a: ma?.digest ?? null, b: mb?.digest ?? null, same: ma !== undefined && mb !== undefined && ma.digest === mb.digest };
      // an image the engine no longer holds cannot be measured again: its mtimes are unknown, not different
      if (!ma || !mb) c.note = 'an image is no longer in the engine: mtimes not compared';
      else c.same &&= c.strict.same;
      if (!c.same && ma && mb) listings = [ma.listing, mb.listing];
    }
    if (c.same) continue;
    listings ??= [x.listing ? await opts.blobs.a.read(x.listing.digest) : undefined, y.listing ? await opts.blobs.b.read(y.listing.digest) : undefined];
    if (listings[0] === undefined || listings[1] === undefined) {
      c.note = 'a rootfs listing was not recorded: the paths that differ are unknown';
      continue;
    }
    const ra = parseRootfsListing(listings[0]);
    const rb = parseRootfsListing(listings[1]);
    const contentPaths = differingFiles(ra, rb);
    const [fa, fb] = opts.imageFiles ? await Promise.all([opts.imageFiles(x.imageId, contentPaths), opts.imageFiles(y.imageId, contentPaths)]) : [undefined, undefined];
    const noteParts = [fa?.note, fb?.note].filter((n): n is string => n !== undefined);
    if (!opts.imageFiles && contentPaths.size > 0) noteParts.push('image contents not read: files compared by digest only');
    if (noteParts.length > 0) c.note = [...new Set(noteParts)].join('; ');
    c.differences = await diffTrees(ra.map((r) => rootfsSide(r, fa?.files, strict)), rb.map((r) => rootfsSide(r, fb?.files, strict)), opts.ctx, { strictMtime: strict });
  }
  return out;
}

/** Regular files on both sides whose contents differ: the only ones worth reading. */
function differingFiles(a: readonly RootfsRecord[], b: readonly RootfsRecord[]): Set<string> {
  const byPath = new Map(b.map((r) => [r.path, r]));
  const out = new Set<string>();
  for (const r of a) {
    const o = byPath.get(r.path);
    if (r.type === 'file' && o?.type === 'file' && r.sha256 !== o.sha256) out.add(r.path);
  }
  return out;
}

function rootfsSide(r: RootfsRecord, files: Map<string, Buffer> | undefined, strict: boolean): FileSide {
  const type: FileSide['type'] = r.type === 'file' || r.type === 'dir' || r.type === 'symlink' || r.type === 'hardlink' ? r.type : 'other';
  const bytes = files?.get(r.path);
  return {
    path: r.path,
    type,
    mode: Number.parseInt(r.mode, 8),
    uid: r.uid,
    gid: r.gid,
    ...(r.size !== undefined ? { size: r.size } : {}),
    ...(r.sha256 !== undefined ? { digest: `sha256:${r.sha256}` as Digest } : {}),
    ...(r.target !== undefined ? { target: r.target } : {}),
    ...(strict && r.mtime !== undefined ? { mtime: r.mtime } : {}),
    ...(bytes !== undefined ? { read: async () => bytes } : {}),
  };
}

const PASSING = new Set(['passed', 'cached']);

function compareCells(a: RunRecord, b: RunRecord, logs: boolean): { cells: CellComparison[]; steps: StepComparison[] } {
  const ids = [...new Set([...a.cells, ...b.cells].map((c) => c.id))];
  const cells: CellComparison[] = [];
  const steps: StepComparison[] = [];
  for (const id of ids) {
    const x = a.cells.find((c) => c.id === id);
    const y = b.cells.find((c) => c.id === id);
    const same = x !== undefined && y !== undefined && (x.status === y.status || (PASSING.has(x.status) && PASSING.has(y.status)));
    const errors = { ...(x?.error ? { a: x.error } : {}), ...(y?.error ? { b: y.error } : {}) };
    cells.push({ cell: id, a: x?.status ?? null, b: y?.status ?? null, same, ...(Object.keys(errors).length > 0 ? { errors } : {}) });
    const names = [...new Set([...(x?.steps ?? []), ...(y?.steps ?? [])].map((s) => s.name))];
    for (const name of names) {
      const sa = x?.steps.find((s) => s.name === name) ?? null;
      const sb = y?.steps.find((s) => s.name === name) ?? null;
      const differs: StepComparison['differs'] = [];
      if (!sa || !sb) differs.push('missing');
      else {
        if (sa.exitCode !== sb.exitCode) differs.push('exit');
        if (logs && sa.stdout?.digest !== sb.stdout?.digest) differs.push('stdout');
        if (logs && sa.stderr?.digest !== sb.stderr?.digest) differs.push('stderr');
      }
      steps.push({ cell: id, step: name, a: sa, b: sb, differs });
    }
  }
  return { cells, steps };
}

function outputSides(r: RunRecord, reader: BlobReader, strict: boolean): FileSide[] {
  return r.cells.flatMap((cell) =>
    cell.outputs.flatMap((set) =>
      set.entries
        .filter((e) => e.path !== '')
        .map((e): FileSide => ({
          path: `${cell.id}${posix.join(set.path, e.path)}`,
          type: e.type === 'file' || e.type === 'dir' || e.type === 'symlink' || e.type === 'hardlink' ? e.type : 'other',
          ...(strict ? { mode: e.mode } : {}),
          ...(e.type === 'file' ? { size: e.size } : {}),
          ...(e.digest !== undefined ? { digest: e.digest } : {}),
          ...(e.target !== undefined ? { target: e.target } : {}),
          ...(e.type === 'file' && e.digest !== undefined ? { read: () => reader.read(e.digest!) } : {}),
        })),
    ),
  );
}

async function compareOutputs(a: RunRecord, b: RunRecord, opts: CompareOptions, strict: boolean, notes: string[]): Promise<{ table: OutputComparison[]; differences: DiffEntry[] }> {
  const sa = outputSides(a, opts.blobs.a, strict);
  const sb = outputSides(b, opts.blobs.b, strict);
  const differences = await diffTrees(sa, sb, opts.ctx, { strictMtime: false });
  const modes = (r: RunRecord) => new Map(r.cells.flatMap((c) => c.outputs.flatMap((s) => s.entries.map((e) => [`${c.id}${posix.join(s.path, e.path)}`, e.mode] as const))));
  const [ma, mb] = [modes(a), modes(b)];
  const byPath = (xs: FileSide[]) => new Map(xs.filter((x) => x.type === 'file').map((x) => [x.path, x]));
  const [fa, fb] = [byPath(sa), byPath(sb)];
  const table: OutputComparison[] = [...new Set([...fa.keys(), ...fb.keys()])].sort().map((path) => {
    const side = (f: FileSide | undefined, m: Map<string, number>) => (f?.digest !== undefined ? { digest: f.digest, size: f.size ?? 0, mode: m.get(path) ?? 0 } : null);
    const x = side(fa.get(path), ma);
    const y = side(fb.get(path), mb);
    return { path, a: x, b: y, same: x !== null && y !== null && x.digest === y.digest && (!strict || x.mode === y.mode) };
  });
  if (!strict) {
    const moved = [...ma].filter(([p, m]) => mb.has(p) && mb.get(p) !== m);
    if (moved.length > 0) {
      const list = moved.slice(0, 5).map(([p, m]) => `${p} ${octal(m)} vs ${octal(mb.get(p)!)}`);
      notes.push(`output modes differ (not counted without --strict; a umask?): ${list.join(', ')}${moved.length > 5 ? `, and ${moved.length - 5} more` : ''}`);
    }
  }
  return { table, differences };
}

async function diffLogs(steps: readonly StepComparison[], opts: CompareOptions): Promise<DiffEntry[]> {
  const side = (s: StepComparison, which: 'a' | 'b', stream: 'stdout' | 'stderr', reader: BlobReader): FileSide[] => {
    const ref = s[which]?.[stream];
    return ref ? [{ path: `${s.cell}/${s.step}/${stream}`, type: 'file', size: ref.size, digest: ref.digest, read: () => reader.read(ref.digest) }] : [];
  };
  const differing = steps.filter((s) => s.differs.includes('stdout') || s.differs.includes('stderr'));
  const sa = differing.flatMap((s) => (['stdout', 'stderr'] as const).flatMap((st) => side(s, 'a', st, opts.blobs.a)));
  const sb = differing.flatMap((s) => (['stdout', 'stderr'] as const).flatMap((st) => side(s, 'b', st, opts.blobs.b)));
  return diffTrees(sa, sb, opts.ctx);
}

/**
 * diffoscope on the differing output files (each side written to a temp tree), when
 * diffoscope is installed; undefined otherwise or when nothing differs.
 */
export async function diffoscopeOutputs(c: Comparison, blobs: { a: BlobReader; b: BlobReader }): Promise<string | undefined> {
  const differing = c.outputs.filter((o) => !o.same);
  if (differing.length === 0) return undefined;
  // not the CAS's tmp/: another airlock opening the CAS would clean it away
  const root = await mkdtemp(join(tmpdir(), 'airlock-diffoscope-'));
  try {
    for (const o of differing) {
      for (const [side, ref, reader] of [['a', o.a, blobs.a], ['b', o.b, blobs.b]] as const) {
        if (ref === null) continue;
        const file = join(root, side, o.path);
        if (!file.startsWith(join(root, side) + sep)) continue; // a recorded name never steers a write outside the tree
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, await reader.read(ref.digest));
      }
    }
    await mkdir(join(root, 'a'), { recursive: true });
    await mkdir(join(root, 'b'), { recursive: true });
    return await diffoscopeReport(join(root, 'a'), join(root, 'b'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}
