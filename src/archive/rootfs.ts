import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Header } from 'tar-stream';

import { AirlockError } from '../errors.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { compareBytes, normalizeEntryPath } from './paths.js';
import { forEachTarEntry, tarEntryType, type TarEntryType } from './tar-read.js';

export type RootfsEntryType = TarEntryType;

/**
 * One line of a rootfs listing. Optional fields are absent (not null) when they do not apply,
 * so the canonical JSON of a record only ever carries what defines that entry.
 */
export interface RootfsRecord {
  /** normalized: no leading `/` or `./`, no trailing `/`; the root itself is never listed */
  path: string;
  type: RootfsEntryType;
  /** permission bits plus setuid/setgid/sticky, 4 octal digits (`"0755"`, `"4755"`) */
  mode: string;
  uid: number;
  gid: number;
  /** files only */
  size?: number;
  /** files only: hex sha256 of the content */
  sha256?: string;
  /** symlinks: the link text as stored; hardlinks: the normalized path of the linked entry */
  target?: string;
  /** char and block devices */
  devmajor?: number;
  devminor?: number;
  /** extended attributes from PAX `SCHILY.xattr.*` (e.g. security.capability), minus security.selinux */
  xattrs?: Record<string, string>;
  /** strict mode only: modification time, whole seconds since the epoch */
  mtime?: number;
}

export interface RootfsListingOptions {
  /** include mtimes, so a rebuild that only touched timestamps gets a new digest. Default false. */
  strict?: boolean;
  /**
   * The tar is `docker export` of a container: leave out what the engine's init layer adds
   * (`isDockerInitPath`) and never record the mtime of `etc`, which the init layer re-creates
   * at container creation (its mode and owner stay the image's). Default false.
   */
  containerExport?: boolean;
  /**
   * More entries to leave out, by normalized path (an excluded directory's contents are
   * not excluded by that alone).
   */
  exclude?: (path: string) => boolean;
  /**
   * Mount points the engine's builder may have left, by normalized path (BUILDAH_MOUNT_POINTS):
   * each is left out only when it is exactly what the builder makes, an empty directory with
   * mode 0755 owned by 0:0 and no xattrs. Anything in it, another mode or owner keeps it.
   * The caller decides which paths the builder can have added (see engine/measure.ts).
   */
  builderMountPoints?: readonly string[];
}

export interface RootfsListing {
  /** sha256 of `listing`: the normalized rootfs digest */
  digest: Digest;
  /** JSON Lines: one canonical (RFC 8785) record per line, sorted by path in byte order */
  listing: Buffer;
  entries: number;
  /** which of `builderMountPoints` were bare, and so left out */
  builderMountPointsLeftOut: string[];
}

/**
 * What Docker's init layer adds to every container (daemon/initlayer): written by the
 * engine, not the image, so they must not change an image's identity. An entry here
 * excludes itself and, for `dev`, `proc` and `sys`, everything below. `etc` itself is
 * kept: the image has it, and its contents other than these files are the image's.
 */
export const DOCKER_INIT_LAYER_PATHS: readonly string[] = [
  '.dockerenv',
  'dev',
  'etc/hostname',
  'etc/hosts',
  'etc/mtab',
  'etc/resolv.conf',
  'proc',
  'sys',
];
const INIT_SUBTREES = ['dev/', 'proc/', 'sys/'];
/** Directories the init layer writes into, so a container export shows its creation time as their mtime. */
const INIT_TOUCHED_DIRS = new Set(['etc']);

/** Whether a (normalized or raw tar) path is one the engine's init layer creates. */
export function isDockerInitPath(p: string): boolean {
  const path = normalizeEntryPath(p);
  return DOCKER_INIT_LAYER_PATHS.includes(path) || INIT_SUBTREES.some((d) => path.startsWith(d));
}

/**
 * The mount points Podman's builder (buildah) leaves in the first layer with a RUN step when
 * the filesystem lacks them, beyond those DOCKER_INIT_LAYER_PATHS already leaves out for every
 * engine (it also leaves `dev`, `proc`, `sys`, `etc/hosts`, `etc/hostname`,
 * `etc/resolv.conf`): the directory it mounts `/run` on, created empty, 0755, root's.
 */
export const BUILDAH_MOUNT_POINTS: readonly string[] = ['run'];

/** Extended attributes that say where a file was unpacked, not what it is. */
const HOST_XATTRS = new Set(['security.selinux']);

/**
 * Reads a filesystem tar (`docker export`, an image layer, …) and returns its normalized
 * listing and digest: the identity of the filesystem independent of tar order, image ids
 * and (unless strict) timestamps. File contents are hashed streaming.
 *
 * Hardlinks are normalized too: which member of a hardlinked group a tar writer emits as
 * the file depends on walk order, so the listing always makes the byte-smallest path the
 * file and every other member a `hardlink` to it.
 */
export async function rootfsListing(tar: Readable, options: RootfsListingOptions = {}): Promise<RootfsListing> {
  const strict = options.strict ?? false;
  const containerExport = options.containerExport ?? false;
  const exclude = (p: string): boolean => (containerExport && isDockerInitPath(p)) || (options.exclude?.(p) ?? false);
  // later entries for the same path replace earlier ones, as when tar extracts
  const records = new Map<string, RootfsRecord>();

  await forEachTarEntry(tar, async (header, body) => {
    const path = normalizeEntryPath(header.name);
    const type = entryType(header);
    if (path === '') return; // the root: its metadata comes from whoever packed it
    const rec: RootfsRecord = {
      path,
      type,
      mode: modeString(header.mode ?? 0),
      uid: header.uid ?? 0,
      gid: header.gid ?? 0,
    };
    if (type === 'file') {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of body) {
        hash.update(chunk);
        size += chunk.byteLength;
      }
      rec.size = size;
      rec.sha256 = hash.digest('hex');
    } else if (type === 'symlink') {
      rec.target = header.linkname ?? '';
    } else if (type === 'hardlink') {
      // a hardlink names another entry of the same archive, never a filesystem path
      rec.target = normalizeEntryPath(header.linkname ?? '');
    } else if (type === 'char' || type === 'block') {
      rec.devmajor = header.devmajor ?? 0;
      rec.devminor = header.devminor ?? 0;
    }
    const xattrs = xattrsOf(header);
    if (xattrs) rec.xattrs = xattrs;
    if (strict && header.mtime && !(containerExport && INIT_TOUCHED_DIRS.has(path))) rec.mtime = Math.floor(header.mtime.getTime() / 1000);
    records.set(path, rec);
  });

  const leftOut = (options.builderMountPoints ?? []).filter((p) => isBareMountPoint(records, p));
  const excluded = (p: string): boolean => exclude(p) || leftOut.includes(p);
  normalizeHardlinks(records, excluded);

  const kept = [...records.values()]
    .filter((r) => !excluded(r.path))
    .sort((a, b) => compareBytes(a.path, b.path));
  const listing = Buffer.from(kept.map((r) => `${canonicalRecord(r)}\n`).join(''), 'utf8');
  return { digest: sha256Digest(listing), listing, entries: kept.length, builderMountPointsLeftOut: leftOut };
}

/** An empty directory, 0755, owned by 0:0, without xattrs: a mount point as a builder creates it. */
function isBareMountPoint(records: Map<string, RootfsRecord>, path: string): boolean {
  const r = records.get(path);
  if (r?.type !== 'dir' || r.mode !== '0755' || r.uid !== 0 || r.gid !== 0 || r.xattrs !== undefined) return false;
  const below = `${path}/`;
  for (const p of records.keys()) if (p.startsWith(below)) return false;
  return true;
}

/** Parses a listing back into records (for diffing two rootfs digests in reports). */
export function parseRootfsListing(listing: Buffer | string): RootfsRecord[] {
  return listing
    .toString()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as RootfsRecord);
}

function entryType(h: Header): RootfsEntryType {
  const type = tarEntryType(h);
  if (type === undefined) {
    throw new AirlockError('ARCHIVE_UNSAFE', `unsupported tar entry type ${String(h.type)}: ${h.name}`, {
      details: { entry: h.name, type: h.type },
    });
  }
  return type;
}

/**
 * RFC 8785 canonical JSON of a record. Records hold only strings, integers and one flat
 * string map, for which JCS is JSON.stringify with keys sorted by UTF-16 code units.
 */
function canonicalRecord(r: RootfsRecord): string {
  const sortKeys = (o: object): string =>
    `{${Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${typeof v === 'object' && v !== null ? sortKeys(v as object) : JSON.stringify(v)}`)
      .join(',')}}`;
  return sortKeys(r);
}

function modeString(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function xattrsOf(h: Header): Record<string, string> | undefined {
  const pax = h.pax as Record<string, string> | null | undefined;
  if (!pax) return undefined;
  const out: Record<string, string> = {};
  let any = false;
  for (const [k, v] of Object.entries(pax)) {
    if (!k.startsWith('SCHILY.xattr.')) continue;
    const name = k.slice('SCHILY.xattr.'.length);
    if (HOST_XATTRS.has(name)) continue;
    out[name] = v;
    any = true;
  }
  return any ? out : undefined;
}

/**
 * Rewrites every hardlink group so that its byte-smallest (kept) member holds the file and
 * the others link to it. Links whose target is absent or not a file are left as they are.
 */
function normalizeHardlinks(records: Map<string, RootfsRecord>, exclude?: (path: string) => boolean): void {
  const groups = new Map<string, string[]>(); // file path → link paths
  for (const rec of records.values()) {
    if (rec.type !== 'hardlink') continue;
    const file = followLinks(records, rec.target ?? '');
    if (file === undefined) continue;
    const group = groups.get(file.path) ?? [];
    group.push(rec.path);
    groups.set(file.path, group);
  }
  for (const [filePath, links] of groups) {
    const file = records.get(filePath)!;
    const members = [filePath, ...links].filter((p) => !exclude?.(p)).sort(compareBytes);
    const primary = members[0];
    if (primary === undefined) continue;
    for (const p of members) {
      const own = records.get(p)!;
      const base: RootfsRecord = { ...file, path: p };
      delete base.mtime;
      if (own.mtime !== undefined) base.mtime = own.mtime;
      if (p === primary) {
        records.set(p, base);
      } else {
        const { size: _size, sha256: _sha, ...meta } = base;
        records.set(p, { ...meta, type: 'hardlink', target: primary });
      }
    }
  }
}

function followLinks(records: Map<string, RootfsRecord>, target: string): RootfsRecord | undefined {
  let rec = records.get(target);
  // a chain longer than the archive is a loop
  for (let hops = 0; rec?.type === 'hardlink' && hops <= records.size; hops++) rec = records.get(rec.target ?? '');
  return rec?.type === 'file' ? rec : undefined;
}
