import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';

import { normalizeEntryPath } from '../archive/paths.js';
import { forEachTarEntry } from '../archive/tar-read.js';
import { sha256Digest } from '../util/digest.js';
import { isAr, readAr } from './ar.js';
import { isCpio, readCpio } from './cpio.js';
import type { FileSide } from './types.js';
import { isZip, readZip } from './zip.js';

/** Archives whose members are compared one by one; a `deb` is an ar archive starting with `debian-binary`. */
export type ArchiveKind = 'tar' | 'tar.gz' | 'gzip' | 'zip' | 'cpio' | 'cpio.gz' | 'ar' | 'deb';

/** The fields of a gzip header that make two compressions of the same bytes differ. */
export interface GzipHeader {
  /** seconds since the epoch, 0 when unset */
  mtime: number;
  name: string | undefined;
  /** compression-level hint and OS byte */
  xfl: number;
  os: number;
}

export interface OpenedArchive {
  kind: ArchiveKind;
  members: FileSide[];
  /** member paths in stored order (tar and zip order is part of the bytes) */
  order: string[];
  gzip?: GzipHeader;
  /**
   * Values outside the members that are part of the bytes, by field name, to compare by value:
   * `cpio inode numbers` (each member's `dev:ino`, as the filesystem gave them) and
   * `ar symbol table` (its digest; it indexes the members, so it follows from them) and
   * `ar symbol table mtime` (`ar U` stamps it with the time of writing).
   */
  fields?: Record<string, string>;
}

const isGzip = (b: Buffer): boolean => b.length >= 10 && b[0] === 0x1f && b[1] === 0x8b;
const isTar = (b: Buffer): boolean => b.length >= 512 && b.toString('latin1', 257, 262) === 'ustar';

/** Compressions node:zlib cannot undo (in Node 20), by magic bytes: their files are compared as bytes, with a note. */
const UNSUPPORTED: { name: string; magic: Buffer }[] = [
  { name: 'xz', magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { name: 'zstd', magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]) },
];

/** The kind of archive `buf` is, by its magic bytes (not its name). */
export function archiveKind(buf: Buffer): 'tar' | 'gzip' | 'zip' | 'cpio' | 'ar' | undefined {
  if (isGzip(buf)) return 'gzip';
  if (isZip(buf)) return 'zip';
  if (isTar(buf)) return 'tar';
  if (isAr(buf)) return 'ar';
  if (isCpio(buf)) return 'cpio';
  return undefined;
}

/**
 * Lists an archive's members, each readable from memory. `path` names the member of a plain
 * gzip file (its path without `.gz`, the same on both sides so they pair). Undefined when
 * `buf` is not an archive; throws an Error with a readable message when it is malformed,
 * unsupported, or expands beyond `maxBytes`.
 */
export async function openArchive(buf: Buffer, path: string, maxBytes: number): Promise<OpenedArchive | undefined> {
  const kind = archiveKind(buf);
  switch (kind) {
    case undefined: {
      const unsupported = UNSUPPORTED.find((c) => buf.length >= c.magic.length && buf.subarray(0, c.magic.length).equals(c.magic));
      if (unsupported !== undefined) throw new Error(`${unsupported.name} not opened (node:zlib has no ${unsupported.name} decoder)`);
      return undefined;
    }
    case 'cpio':
      return cpioArchive('cpio', buf, maxBytes);
    case 'ar': {
      const { members, symbols } = readAr(buf, maxBytes);
      return {
        kind: members[0]?.path === 'debian-binary' ? 'deb' : 'ar',
        members,
        order: members.map((m) => m.path),
        ...(symbols === undefined ? {} : { fields: symbolFields(symbols) }),
      };
    }
    case 'tar':
      return { kind, ...(await tarMembers(buf)) };
    case 'zip': {
      const members = readZip(buf, maxBytes).map((m): FileSide => ({
        path: normalizeEntryPath(m.name),
        type: m.isDir ? 'dir' : m.isSymlink ? 'symlink' : 'file',
        ...(m.mode === undefined ? {} : { mode: m.mode }),
        mtime: m.mtime,
        ...(m.isDir ? {} : { size: m.size, read: async () => m.read() }),
      }));
      return { kind, members, order: members.map((m) => m.path) };
    }
    case 'gzip': {
      const header = gzipHeader(buf);
      let inner: Buffer;
      try {
        inner = gunzipSync(buf, { maxOutputLength: maxBytes });
      } catch (e) {
        throw new Error(`cannot decompress: ${(e as Error).message}`);
      }
      if (isTar(inner)) return { kind: 'tar.gz', gzip: header, ...(await tarMembers(inner)) };
      if (isCpio(inner)) return { ...cpioArchive('cpio.gz', inner, maxBytes), gzip: header };
      const name = (path.split('/').at(-1) ?? path).replace(/\.t?gz$/, (ext) => (ext === '.tgz' ? '.tar' : '')) || 'content';
      const member: FileSide = { path: name, type: 'file', size: inner.length, digest: sha256Digest(inner), read: async () => inner };
      return { kind: 'gzip', gzip: header, members: [member], order: [name] };
    }
  }
}

function symbolFields(symbols: { data: Buffer; mtime: number | undefined }): Record<string, string> {
  return { 'ar symbol table': sha256Digest(symbols.data), ...(symbols.mtime === undefined ? {} : { 'ar symbol table mtime': String(symbols.mtime) }) };
}

function cpioArchive(kind: 'cpio' | 'cpio.gz', buf: Buffer, maxBytes: number): OpenedArchive {
  const { members, inodes } = readCpio(buf, maxBytes);
  return { kind, members, order: members.map((m) => m.path), fields: { 'cpio inode numbers': inodes.join(' ') } };
}

async function tarMembers(buf: Buffer): Promise<{ members: FileSide[]; order: string[] }> {
  const members: FileSide[] = [];
  await forEachTarEntry(Readable.from([buf]), async (h, body) => {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c);
    const content = Buffer.concat(chunks);
    const type: FileSide['type'] =
      h.type === 'file' || h.type === 'contiguous-file' ? 'file'
      : h.type === 'directory' ? 'dir'
      : h.type === 'symlink' ? 'symlink'
      : h.type === 'link' ? 'hardlink'
      : 'other';
    members.push({
      path: normalizeEntryPath(h.name),
      type,
      ...(h.mode === undefined ? {} : { mode: h.mode & 0o7777 }),
      ...(h.uid === undefined ? {} : { uid: h.uid }),
      ...(h.gid === undefined ? {} : { gid: h.gid }),
      ...(h.uname ? { uname: h.uname } : {}),
      ...(h.gname ? { gname: h.gname } : {}),
      ...(h.mtime === undefined ? {} : { mtime: Math.floor(h.mtime.getTime() / 1000) }),
      ...(h.linkname ? { target: h.linkname } : {}),
      ...(type === 'file' ? { size: content.length, digest: sha256Digest(content), read: async () => content } : {}),
    });
  });
  return { members, order: members.map((m) => m.path) };
}

export function gzipHeader(buf: Buffer): GzipHeader {
  const flags = buf[3]!;
  let p = 10;
  if (flags & 0x04) p += 2 + buf.readUInt16LE(p);
  let name: string | undefined;
  if (flags & 0x08) {
    const end = buf.indexOf(0, p);
    name = buf.toString('latin1', p, end === -1 ? buf.length : end);
  }
  return { mtime: buf.readUInt32LE(4), name, xfl: buf[8]!, os: buf[9]! };
}
