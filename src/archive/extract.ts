import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { AirlockError } from '../errors.js';
import type { Cas } from '../store/cas.js';
import type { Digest } from '../util/digest.js';
import { EntryGuard, type SafeEntry, type SafeEntryType } from './guard.js';
import { ancestorsOf, compareBytes } from './paths.js';
import { forEachTarEntry } from './tar-read.js';

export type OutputEntryType = SafeEntryType;

/** One collected output: what it is, and for files (and hardlinks) the blob holding its content. */
export interface OutputEntry {
  /** relative to the archive root (after stripPrefix), normalized */
  path: string;
  type: OutputEntryType;
  /** permission bits plus setuid/setgid/sticky, as in the archive */
  mode: number;
  /** content length for files and hardlinks, 0 otherwise */
  size: number;
  digest?: Digest;
  /** symlink: link text; hardlink: path of the linked entry */
  target?: string;
}

export interface TarReadOptions {
  /**
   * Leading directory to remove from every entry name (and hardlink target), e.g. `out` for
   * the archive of `/out` from the engine. Entries outside it are refused.
   */
  stripPrefix?: string;
  signal?: AbortSignal;
}

/**
 * Collects a tar of outputs into the CAS: every regular file streamed into a blob, every
 * entry described. Unsafe entries (see EntryGuard) are refused with ARCHIVE_UNSAFE; blobs
 * already stored by then stay in the CAS (content-addressed, they harm nothing).
 * Returns the entries sorted by path.
 */
export async function tarToCas(tar: Readable, cas: Cas, options: TarReadOptions = {}): Promise<OutputEntry[]> {
  const guard = new EntryGuard(options);
  const out = new Map<string, OutputEntry>();
  await forEachTarEntry(tar, async (header, body) => {
    options.signal?.throwIfAborted();
    const e = guard.check(header);
    if (e === null) return;
    const entry: OutputEntry = { path: e.path, type: e.type, mode: e.mode, size: 0 };
    if (e.type === 'file') {
      const ref = await cas.put(Readable.from(body), { signal: options.signal });
      entry.size = ref.size;
      entry.digest = ref.digest;
    } else if (e.type === 'hardlink') {
      const linked = out.get(e.target!)!;
      entry.target = e.target;
      entry.size = linked.size;
      if (linked.digest) entry.digest = linked.digest;
    } else if (e.type === 'symlink') {
      entry.target = e.target;
    }
    out.set(e.path, entry);
  });
  guard.finish();
  return [...out.values()].sort((a, b) => compareBytes(a.path, b.path));
}

/**
 * Unpacks a tar under `targetDir` without ever writing outside it: every entry passes the
 * same checks as `tarToCas`, parents already on disk are never followed through symlinks,
 * files are created with O_NOFOLLOW|O_EXCL, and the archive's symlinks are created last,
 * after all of them have been checked against the whole archive. Modes are applied without
 * setuid/setgid (files and dirs get `mode & 0o1777`); owners and mtimes are not restored.
 * On a refusal, what was unpacked so far stays in `targetDir` (give it a fresh directory).
 * Returns the entries sorted by path, files with the digest of what was written.
 */
export async function extractTarSafe(
  tar: Readable,
  targetDir: string,
  options: TarReadOptions = {},
): Promise<OutputEntry[]> {
  await fs.mkdir(targetDir, { recursive: true });
  const root = await fs.realpath(targetDir);
  const guard = new EntryGuard(options);
  const out = new Map<string, OutputEntry>();
  const symlinks: SafeEntry[] = [];
  const dirModes: [string, number][] = [];

  await forEachTarEntry(tar, async (header, body) => {
    options.signal?.throwIfAborted();
    const e = guard.check(header);
    if (e === null) return;
    const entry: OutputEntry = { path: e.path, type: e.type, mode: e.mode, size: 0 };
    const dest = join(root, e.path);
    switch (e.type) {
      case 'dir': {
        await ensureParents(root, e.path);
        const st = await lstatOrNull(dest);
        if (st === null) await fs.mkdir(dest, 0o700);
        else if (!st.isDirectory()) throw existing(e.path, 'is not a directory');
        dirModes.push([dest, e.mode & 0o1777]);
        break;
      }
      case 'file': {
        await ensureParents(root, e.path);
        await removeNonDir(dest, e.path);
        const { digest, size } = await writeNew(dest, body, e.mode & 0o1777);
        entry.digest = digest;
        entry.size = size;
        break;
      }
      case 'hardlink': {
        await ensureParents(root, e.path);
        await removeNonDir(dest, e.path);
        await fs.link(join(root, e.target!), dest);
        const linked = out.get(e.target!)!;
        entry.target = e.target;
        entry.size = linked.size;
        if (linked.digest) entry.digest = linked.digest;
        break;
      }
      case 'symlink':
        entry.target = e.target;
        symlinks.push(e);
        break;
    }
    out.set(e.path, entry);
  });
  guard.finish();

  for (const s of symlinks) {
    await ensureParents(root, s.path);
    const dest = join(root, s.path);
    await removeNonDir(dest, s.path);
    await fs.symlink(s.target!, dest);
  }
  // deepest first, and only now, so a read-only directory does not block its own contents
  for (const [dir, mode] of dirModes.reverse()) await fs.chmod(dir, mode);
  return [...out.values()].sort((a, b) => compareBytes(a.path, b.path));
}

/** Makes the entry's missing parents; refuses a parent on disk that is a symlink or not a directory. */
async function ensureParents(root: string, path: string): Promise<void> {
  for (const a of ancestorsOf(path)) {
    const p = join(root, a);
    const st = await lstatOrNull(p);
    if (st === null) await fs.mkdir(p, 0o755);
    else if (st.isSymbolicLink()) throw existing(path, `its parent ${a} is a symlink on disk`);
    else if (!st.isDirectory()) throw existing(path, `its parent ${a} is not a directory on disk`);
  }
}

/** Clears the way for a new non-directory entry (a previous extraction's file, say). */
async function removeNonDir(dest: string, path: string): Promise<void> {
  const st = await lstatOrNull(dest);
  if (st === null) return;
  if (st.isDirectory()) throw existing(path, 'is a directory on disk');
  await fs.unlink(dest);
}

async function writeNew(
  dest: string,
  body: AsyncIterable<Buffer>,
  mode: number,
): Promise<{ digest: Digest; size: number }> {
  const fh = await fs.open(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of body) {
      hash.update(chunk);
      size += chunk.byteLength;
      await fh.write(chunk);
    }
    await fh.chmod(mode);
  } finally {
    await fh.close();
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

async function lstatOrNull(p: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fs.lstat(p);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw e;
  }
}

function existing(entry: string, reason: string): AirlockError {
  return new AirlockError('ARCHIVE_UNSAFE', `refused archive entry ${JSON.stringify(entry)}: ${reason}`, {
    details: { entry, reason },
  });
}
