import { normalizeEntryPath } from '../archive/paths.js';
import { sha256Digest } from '../util/digest.js';
import type { FileSide } from './types.js';

/**
 * A bounded reader for the ASCII cpio formats, for comparing archives (initramfs images,
 * RPM payloads). Nothing is allocated from a size field: every name and body is a view of
 * the input, checked against its length first.
 *
 * newc (`070701`) and crc (`070702`): a 110-byte header, the magic then 13 fields of 8 hex
 * digits (ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
 * rdevminor, namesize, check); the name (namesize bytes, NUL included) padded so header and
 * name end on a multiple of 4; the body padded to a multiple of 4.
 *
 * odc (`070707`): a 76-byte header of octal fields (dev 6, ino 6, mode 6, uid 6, gid 6,
 * nlink 6, rdev 6, mtime 11, namesize 6, filesize 11), then the name and body, unpadded.
 *
 * The archive ends at the member named `TRAILER!!!`; what follows (block padding) is ignored.
 */

export type CpioFormat = 'newc' | 'crc' | 'odc';

export interface CpioArchive {
  format: CpioFormat;
  members: FileSide[];
  /** per member in stored order, `dev:ino` as recorded: filesystem facts that are part of the bytes */
  inodes: string[];
}

interface Header {
  format: CpioFormat;
  size: number;
  ino: number;
  dev: string;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  nameSize: number;
  fileSize: number;
}

const MAGIC: Record<string, CpioFormat> = { '070701': 'newc', '070702': 'crc', '070707': 'odc' };
const TRAILER = 'TRAILER!!!';
/** longer names than this are not paths (PATH_MAX is 4096) */
const MAX_NAME = 4096;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export function isCpio(buf: Buffer): boolean {
  return buf.length >= 6 && MAGIC[buf.toString('latin1', 0, 6)] !== undefined;
}

/**
 * The members of an ASCII cpio archive in stored order. Hard links (regular files sharing
 * dev and ino, nlink > 1) become `hardlink` members pointing at the link that holds the data.
 * @throws Error with a readable message when the archive is malformed, truncated, or holds a
 *   member larger than `maxBytes`
 */
export function readCpio(buf: Buffer, maxBytes: number): CpioArchive {
  const entries: { h: Header; path: string; body: Buffer }[] = [];
  let p = 0;
  for (let i = 0; ; i++) {
    const h = readHeader(buf, p, i);
    const nameEnd = p + h.size + h.nameSize;
    if (h.nameSize < 1 || h.nameSize > MAX_NAME) throw new Error(`cpio member ${i} at offset ${p}: name size ${h.nameSize} is out of range`);
    if (nameEnd > buf.length) throw new Error(`cpio member ${i} at offset ${p}: truncated in its name`);
    const name = buf.toString('utf8', p + h.size, nameEnd - 1);
    if (name === TRAILER) break;
    const bodyStart = h.format === 'odc' ? nameEnd : align4(nameEnd);
    if (h.fileSize > maxBytes) throw new Error(`cpio member ${q(name)}: ${h.fileSize} bytes, more than the ${maxBytes} compared`);
    if (bodyStart + h.fileSize > buf.length) throw new Error(`cpio member ${q(name)}: truncated (${h.fileSize} bytes declared, ${Math.max(0, buf.length - bodyStart)} present)`);
    entries.push({ h, path: normalizeEntryPath(name) || '.', body: buf.subarray(bodyStart, bodyStart + h.fileSize) });
    p = h.format === 'odc' ? bodyStart + h.fileSize : align4(bodyStart + h.fileSize);
  }
  const holders = linkHolders(entries);
  const members = entries.map(({ h, path, body }, i): FileSide => {
    const fmt = h.mode & S_IFMT;
    const holder = holders.get(i);
    const type: FileSide['type'] = holder !== undefined ? 'hardlink' : fmt === S_IFREG ? 'file' : fmt === S_IFDIR ? 'dir' : fmt === S_IFLNK ? 'symlink' : 'other';
    const base = { path, type, mode: h.mode & 0o7777, uid: h.uid, gid: h.gid, mtime: h.mtime };
    if (type === 'hardlink') return { ...base, target: entries[holder!]!.path };
    if (type === 'symlink') return { ...base, target: body.toString('utf8') };
    if (type !== 'file') return base;
    return { ...base, size: body.length, digest: sha256Digest(body), read: async () => body };
  });
  return { format: MAGIC[buf.toString('latin1', 0, 6)]!, members, inodes: entries.map(({ h }) => `${h.dev}:${h.ino}`) };
}

function readHeader(buf: Buffer, p: number, i: number): Header {
  const at = `cpio member ${i} at offset ${p}`;
  if (p + 6 > buf.length) throw new Error(`${at}: truncated before its header (no ${TRAILER} member)`);
  const format = MAGIC[buf.toString('latin1', p, p + 6)];
  if (format === undefined) throw new Error(`${at}: bad magic ${JSON.stringify(buf.toString('latin1', p, p + 6))}`);
  const size = format === 'odc' ? 76 : 110;
  if (p + size > buf.length) throw new Error(`${at}: truncated in its header`);
  if (format === 'odc') {
    // offsets of dev, ino, mode, uid, gid, nlink, rdev, mtime, namesize, filesize
    const f = (off: number, len: number, name: string): number => field(buf, p + off, len, 8, `${at}: ${name}`);
    return {
      format,
      size,
      dev: f(6, 6, 'dev').toString(8),
      ino: f(12, 6, 'ino'),
      mode: f(18, 6, 'mode'),
      uid: f(24, 6, 'uid'),
      gid: f(30, 6, 'gid'),
      nlink: f(36, 6, 'nlink'),
      mtime: f(48, 11, 'mtime'),
      nameSize: f(59, 6, 'namesize'),
      fileSize: f(65, 11, 'filesize'),
    };
  }
  const f = (k: number, name: string): number => field(buf, p + 6 + 8 * k, 8, 16, `${at}: ${name}`);
  return {
    format,
    size,
    ino: f(0, 'ino'),
    mode: f(1, 'mode'),
    uid: f(2, 'uid'),
    gid: f(3, 'gid'),
    nlink: f(4, 'nlink'),
    mtime: f(5, 'mtime'),
    fileSize: f(6, 'filesize'),
    dev: `${f(7, 'devmajor').toString(16)},${f(8, 'devminor').toString(16)}`,
    nameSize: f(11, 'namesize'),
  };
}

/** A fixed-width number in `radix`; anything but its digits is malformed. */
function field(buf: Buffer, start: number, len: number, radix: 8 | 16, what: string): number {
  const s = buf.toString('latin1', start, start + len);
  if (!(radix === 8 ? /^[0-7]+$/ : /^[0-9a-fA-F]+$/).test(s)) throw new Error(`${what} ${JSON.stringify(s)} is not a${radix === 8 ? 'n octal' : ' hex'} number`);
  return parseInt(s, radix);
}

/**
 * For each member that is a second link to a file, the index of the member holding the data:
 * newc stores the data once, with the last link (the others have size 0); odc repeats it.
 */
function linkHolders(entries: readonly { h: Header }[]): Map<number, number> {
  const groups = new Map<string, number[]>();
  entries.forEach(({ h }, i) => {
    if ((h.mode & S_IFMT) !== S_IFREG || h.nlink < 2) return;
    const key = `${h.dev}:${h.ino}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const holders = new Map<number, number>();
  for (const links of groups.values()) {
    if (links.length < 2) continue;
    const holder = links.find((i) => entries[i]!.h.fileSize > 0) ?? links[0]!;
    for (const i of links) if (i !== holder) holders.set(i, holder);
  }
  return holders;
}

const align4 = (n: number): number => Math.ceil(n / 4) * 4;

function q(s: string): string {
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s);
}
