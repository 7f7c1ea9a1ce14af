/**
 * Reading files airlock does not control (bundles, CAS blobs when verifying, specs): only
 * regular files, never through a final symlink, and never more bytes than the caller allows.
 * A `statement.json` replaced by a symlink to /dev/zero, or by a fifo, is refused at once
 * instead of being read forever.
 */
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

export type FileProblemKind = 'missing' | 'symlink' | 'not-regular' | 'too-big' | 'unreadable';

export interface FileProblem {
  kind: FileProblemKind;
  /** a sentence naming the file and what is wrong with it */
  message: string;
  errno?: string;
  /** the file's size, when it is too big */
  size?: number;
}

/** Turns a problem into the caller's coded error. */
export type FailWith = (problem: FileProblem) => Error;

// O_NONBLOCK: opening a fifo for reading would otherwise wait for a writer forever.
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** An open regular file and its size; the caller closes it. */
export async function openRegular(path: string, fail: FailWith): Promise<{ handle: FileHandle; stats: Stats }> {
  let handle: FileHandle;
  try {
    handle = await open(path, FLAGS);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code ?? 'EIO';
    if (errno === 'ENOENT' || errno === 'ENOTDIR') throw fail({ kind: 'missing', message: `${path} does not exist`, errno });
    if (errno === 'ELOOP') throw fail({ kind: 'symlink', message: `${path} is a symbolic link, not a regular file`, errno });
    throw fail({ kind: 'unreadable', message: `${path} cannot be opened (${errno})`, errno });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw fail({ kind: 'not-regular', message: `${path} is ${kindOf(stats)}, not a regular file` });
    return { handle, stats };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** The whole file, refused when larger than `maxBytes` (checked before reading, and while reading should it grow). */
export async function readBounded(path: string, maxBytes: number, fail: FailWith): Promise<Buffer> {
  const { handle, stats } = await openRegular(path, fail);
  try {
    if (stats.size > maxBytes) throw fail({ kind: 'too-big', message: `${path} has ${stats.size} bytes, more than the limit of ${maxBytes}`, size: stats.size });
    // One byte more than expected, to notice a file that grows while it is read.
    const buffer = Buffer.alloc(stats.size + 1);
    let length = 0;
    for (;;) {
      const bytesRead = await readSome(handle, buffer, length, path, fail);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) throw fail({ kind: 'too-big', message: `${path} grew while being read (it had ${stats.size} bytes)`, size: length });
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

async function readSome(handle: FileHandle, buffer: Buffer, offset: number, path: string, fail: FailWith): Promise<number> {
  try {
    return (await handle.read(buffer, offset, buffer.length - offset, null)).bytesRead;
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw fail({ kind: 'unreadable', message: `${path} cannot be read (${errno})`, errno });
  }
}

function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a fifo';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'a special file';
}
