import * as fs from 'node:fs/promises';
import type { Readable } from 'node:stream';

import { EntryGuard } from '../archive/guard.js';
import { normalizeEntryPath } from '../archive/paths.js';
import { isDockerInitPath } from '../archive/rootfs.js';
import { forEachTarEntry } from '../archive/tar-read.js';
import { AirlockError } from '../errors.js';

/** One entry of the image, checked, with its content (files) at `offset` in the spool file. */
export interface ImageEntry {
  /** normalized, relative (`bin/sh`) */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  offset: number;
  /** symlink: link text as stored; hardlink: path of the file it links to (never another hardlink) */
  target?: string;
}

export interface ImageSpool {
  /** in archive order */
  entries: ImageEntry[];
  spoolPath: string;
  /** bytes of file content (each hardlinked file once) */
  contentBytes: number;
  /** paths left out: what the engine's init layer adds, and anything under `.airlock` */
  skipped: number;
}

/** Where airlock's own files live in a guest; the image's entries there are replaced. */
export const AIRLOCK_DIR = '.airlock';

/**
 * Reads a filesystem tar (`docker export`) into a spool file plus a checked entry list, so
 * the guest root can be written in sorted order afterwards. Every entry passes EntryGuard
 * (no absolute names, no `..`, no NUL, no special files, no duplicates, nothing below a
 * symlink, hardlinks only to earlier files), refused with ARCHIVE_UNSAFE. Symlink targets
 * are deliberately not confined: the guest resolves them inside its own root, and nothing
 * is ever unpacked on the host through them.
 */
export async function spoolImage(tar: Readable, spoolPath: string, signal?: AbortSignal): Promise<ImageSpool> {
  const guard = new EntryGuard();
  const entries: ImageEntry[] = [];
  const byPath = new Map<string, ImageEntry>();
  let contentBytes = 0;
  let skipped = 0;
  const spool = await fs.open(spoolPath, 'w', 0o600);
  let offset = 0;
  try {
    await forEachTarEntry(tar, async (header, body) => {
      signal?.throwIfAborted();
      const raw = normalizeEntryPath(header.name);
      if (isDockerInitPath(header.name) || raw === AIRLOCK_DIR || raw.startsWith(`${AIRLOCK_DIR}/`)) {
        skipped += 1;
        return;
      }
      const linkname = header.linkname ?? '';
      if (header.type === 'symlink' && linkname.includes('\0')) throw unsafe(header.name, 'NUL byte in symlink target');
      // the guard's structural checks apply; the symlink's own target is the guest's business (see above)
      const safe = guard.check(header.type === 'symlink' ? { ...header, linkname: '.' } : header);
      if (safe === null) return;
      const entry: ImageEntry = {
        path: safe.path,
        type: safe.type,
        mode: safe.mode,
        uid: header.uid ?? 0,
        gid: header.gid ?? 0,
        size: 0,
        offset: 0,
      };
      if (safe.type === 'file') {
        entry.offset = offset;
        for await (const chunk of body) {
          await spool.write(chunk);
          offset += chunk.byteLength;
        }
        entry.size = offset - entry.offset;
        contentBytes += entry.size;
      } else if (safe.type === 'symlink') {
        entry.target = linkname;
      } else if (safe.type === 'hardlink') {
        const linked = byPath.get(safe.target!)!;
        entry.target = linked.type === 'hardlink' ? linked.target! : linked.path;
      }
      entries.push(entry);
      byPath.set(entry.path, entry);
    });
    guard.finish();
  } finally {
    await spool.close();
  }
  return { entries, spoolPath, contentBytes, skipped };
}

function unsafe(entry: string, reason: string): AirlockError {
  return new AirlockError('ARCHIVE_UNSAFE', `refused archive entry ${JSON.stringify(entry)}: ${reason}`, { details: { entry, reason } });
}
