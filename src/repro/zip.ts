import { inflateRawSync } from 'node:zlib';

/**
 * A small zip reader for comparing archives: the central directory (names, modes, times,
 * sizes, in stored order) and each member's content on demand. Stored and deflated members
 * only; zip64, encryption and multi-disk archives are refused with a message (the caller
 * turns that into a note). Never writes anything.
 */
export interface ZipMember {
  name: string;
  isDir: boolean;
  isSymlink: boolean;
  /** permission bits when made on Unix, else undefined */
  mode: number | undefined;
  /** whole seconds since the epoch: the extended timestamp (UTC) when present, else the DOS time read as UTC */
  mtime: number;
  size: number;
  read: () => Buffer;
}

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;

export function isZip(buf: Buffer): boolean {
  return buf.length >= 4 && (buf.readUInt32LE(0) === LOC_SIG || buf.readUInt32LE(0) === EOCD_SIG);
}

/** @throws Error with a readable message for malformed or unsupported archives */
export function readZip(buf: Buffer, maxMemberBytes: number): ZipMember[] {
  const eocd = findEocd(buf);
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) throw new Error('zip64 archives are not supported');
  if (buf.readUInt16LE(eocd + 4) !== 0 || buf.readUInt16LE(eocd + 6) !== 0) throw new Error('multi-disk zip archives are not supported');
  if (cdOffset + cdSize > buf.length) throw new Error('zip central directory lies outside the file');

  const members: ZipMember[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CEN_SIG) throw new Error(`zip central directory entry ${i} is malformed`);
    const madeBy = buf.readUInt16LE(p + 4) >> 8;
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const dosTime = buf.readUInt16LE(p + 12);
    const dosDate = buf.readUInt16LE(p + 14);
    const compSize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const external = buf.readUInt32LE(p + 38);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);
    const extra = buf.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen);
    p += 46 + nameLen + extraLen + commentLen;

    const unixMode = madeBy === 3 ? external >>> 16 : undefined;
    const fmt = unixMode === undefined ? undefined : unixMode & S_IFMT;
    members.push({
      name,
      isDir: name.endsWith('/') || fmt === S_IFDIR,
      isSymlink: fmt === S_IFLNK,
      mode: unixMode === undefined || unixMode === 0 ? undefined : unixMode & 0o7777,
      mtime: extendedMtime(extra) ?? dosToEpoch(dosDate, dosTime),
      size,
      read: () => {
        if (flags & 0x1) throw new Error(`${name}: encrypted zip members are not supported`);
        if (size > maxMemberBytes) throw new Error(`${name}: ${size} bytes, more than the ${maxMemberBytes} compared`);
        if (local + 30 > buf.length || buf.readUInt32LE(local) !== LOC_SIG) throw new Error(`${name}: local header is malformed`);
        const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
        const data = buf.subarray(start, start + compSize);
        if (method === 0) return Buffer.from(data);
        if (method === 8) return inflateRawSync(data, { maxOutputLength: Math.max(1, size) });
        throw new Error(`${name}: compression method ${method} is not supported`);
      },
    });
  }
  return members;
}

function findEocd(buf: Buffer): number {
  // the record is 22 bytes plus a comment of up to 65535
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) return i;
  }
  throw new Error('no zip end-of-central-directory record');
}

/** The "UT" extra field (0x5455): mtime as Unix seconds, UTC. */
function extendedMtime(extra: Buffer): number | undefined {
  for (let p = 0; p + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(p);
    const len = extra.readUInt16LE(p + 2);
    if (id === 0x5455 && len >= 5 && (extra[p + 4]! & 1) === 1) return extra.readUInt32LE(p + 5);
    p += 4 + len;
  }
  return undefined;
}

/** DOS date and time have no zone; read as UTC so both sides are read the same way. */
function dosToEpoch(date: number, time: number): number {
  const ms = Date.UTC(1980 + (date >> 9), ((date >> 5) & 0xf) - 1, date & 0x1f, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2);
  return Math.floor(ms / 1000);
}
