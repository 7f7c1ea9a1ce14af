/**
 * A writer for the cpio "newc" format (what the Linux kernel unpacks as an initramfs):
 * a 110-byte ASCII header (`070701` and 13 eight-digit hex fields), the NUL-terminated
 * name padded to 4 bytes, the data padded to 4 bytes, and a `TRAILER!!!` entry at the end.
 * Everything here is pure: callers choose order, inode numbers and times.
 */

export type CpioType = 'file' | 'dir' | 'symlink' | 'char';

export interface CpioEntry {
  /** relative, no leading `/` (the kernel accepts both; `cpio -t` prints what is stored) */
  path: string;
  type: CpioType;
  /** permission bits plus setuid/setgid/sticky */
  mode: number;
  uid: number;
  gid: number;
  /** seconds since the epoch */
  mtime: number;
  /** members of a hardlink group share `ino` and carry their `nlink`; the data goes with one of them */
  ino: number;
  nlink: number;
  /** bytes of data that follow (files: content, or 0 for the data-less members of a hardlink group) */
  size: number;
  /** symlinks: the link text (it is the entry's data) */
  target?: string;
  /** char devices */
  rdevMajor?: number;
  rdevMinor?: number;
}

const MAGIC = '070701';
const HEADER_BYTES = 110;
const MAX_FIELD = 0xffffffff;

const TYPE_BITS: Record<CpioType, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  char: 0o020000,
};

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

function hex8(field: string, v: number): string {
  if (!Number.isInteger(v) || v < 0 || v > MAX_FIELD) throw new RangeError(`cpio field ${field} out of range: ${v}`);
  return v.toString(16).padStart(8, '0');
}

/** Header, name and name padding of one entry; for symlinks the target (data) and its padding too. */
export function cpioEntryHead(e: CpioEntry): Buffer {
  const name = Buffer.from(`${e.path}\0`, 'utf8');
  const data = e.type === 'symlink' ? Buffer.from(e.target ?? '', 'utf8') : undefined;
  const size = data ? data.length : e.type === 'file' ? e.size : 0;
  const fields = [
    hex8('ino', e.ino),
    hex8('mode', TYPE_BITS[e.type] | (e.mode & 0o7777)),
    hex8('uid', e.uid),
    hex8('gid', e.gid),
    hex8('nlink', e.nlink),
    hex8('mtime', e.mtime),
    hex8('filesize', size),
    hex8('devmajor', 0),
    hex8('devminor', 0),
    hex8('rdevmajor', e.rdevMajor ?? 0),
    hex8('rdevminor', e.rdevMinor ?? 0),
    hex8('namesize', name.length),
    hex8('check', 0),
  ];
  const header = Buffer.from(MAGIC + fields.join(''), 'latin1');
  const parts = [header, name, Buffer.alloc(pad4(HEADER_BYTES + name.length))];
  if (data) parts.push(data, Buffer.alloc(pad4(data.length)));
  return Buffer.concat(parts);
}

/** The padding after `size` bytes of file data. */
export function cpioDataPad(size: number): Buffer {
  return Buffer.alloc(pad4(size));
}

/** The end-of-archive entry. */
export function cpioTrailer(): Buffer {
  return cpioEntryHead({ path: 'TRAILER!!!', type: 'file', mode: 0, uid: 0, gid: 0, mtime: 0, ino: 0, nlink: 1, size: 0 });
}

/** One parsed entry (tests, and checking what a guest root holds). */
export interface CpioRecord {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  ino: number;
  nlink: number;
  rdevMajor: number;
  rdevMinor: number;
  data: Buffer;
}

/** Parses an uncompressed newc archive up to its trailer. */
export function parseCpio(buf: Buffer): CpioRecord[] {
  const out: CpioRecord[] = [];
  let off = 0;
  for (;;) {
    if (off + HEADER_BYTES > buf.length) throw new Error(`cpio truncated at byte ${off}`);
    const head = buf.toString('latin1', off, off + HEADER_BYTES);
    if (!head.startsWith(MAGIC)) throw new Error(`bad cpio magic at byte ${off}`);
    const f = (i: number) => parseInt(head.slice(6 + i * 8, 14 + i * 8), 16);
    const nameSize = f(11);
    const size = f(6);
    const nameStart = off + HEADER_BYTES;
    const path = buf.toString('utf8', nameStart, nameStart + nameSize - 1);
    const dataStart = nameStart + nameSize + pad4(HEADER_BYTES + nameSize);
    if (dataStart + size > buf.length) throw new Error(`cpio truncated in ${path}`);
    if (path === 'TRAILER!!!') return out;
    out.push({
      path,
      ino: f(0),
      mode: f(1),
      uid: f(2),
      gid: f(3),
      nlink: f(4),
      mtime: f(5),
      rdevMajor: f(9),
      rdevMinor: f(10),
      data: buf.subarray(dataStart, dataStart + size),
    });
    off = dataStart + size + pad4(size);
  }
}
