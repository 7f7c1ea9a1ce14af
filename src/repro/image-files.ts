import type { Engine } from '../engine/engine.js';
import { normalizeEntryPath } from '../archive/paths.js';
import { forEachTarEntry } from '../archive/tar-read.js';
import { isNotFound } from '../engine/client.js';
import { openImageFilesystem, type ImageFilesystem } from '../engine/image-filesystem.js';
import { measureImage } from '../engine/measure.js';
import type { Digest } from '../util/digest.js';
import { passwdNames } from './compare-runs.js';

/** Files of an image by path (normalized, relative), for showing how two rootfs differ. */
export type ImageFiles = (imageId: string, paths: ReadonlySet<string>) => Promise<{ files: Map<string, Buffer>; note?: string }>;

/**
 * Reads the image's filesystem and keeps the wanted regular files, up to `maxBytes` in all; an image the engine does not hold gives no files and a note.
 */
export function dockerImageFiles(engine: Engine, runId: string, maxBytes = 64 * 1024 * 1024): ImageFiles {
  return async (imageId, paths) => {
    const files = new Map<string, Buffer>();
    if (paths.size === 0) return { files };
    let image: ImageFilesystem;
    try {
      image = await openImageFilesystem(engine, imageId, runId);
    } catch (e) {
      if (isNotFound(e)) return { files, note: `image ${imageId.slice(0, 19)} is not in this engine: contents compared by digest only` };
      throw e;
    }
    let total = 0;
    let skipped = 0;
    try {
      await forEachTarEntry(await image.tar(), async (header, body) => {
        const path = normalizeEntryPath(header.name);
        if (!paths.has(path) || (header.type !== 'file' && header.type !== 'contiguous-file')) return;
        if (total + (header.size ?? 0) > maxBytes) {
          skipped++;
          return;
        }
        const chunks: Buffer[] = [];
        for await (const c of body) chunks.push(c);
        const buf = Buffer.concat(chunks);
        total += buf.length;
        files.set(path, buf);
      });
    } finally {
      await image.remove();
    }
    return { files, ...(skipped > 0 ? { note: `${skipped} files not read (over ${maxBytes} bytes in all): compared by digest only` } : {}) };
  };
}

/** The user names the images know (uid → name, from each one's /etc/passwd; the first image naming a uid wins). */
export async function imageUserNames(engine: Engine, runId: string, imageIds: readonly string[]): Promise<Map<number, string>> {
  const names = new Map<number, string>();
  for (const id of new Set(imageIds)) {
    const image = await openImageFilesystem(engine, id, runId);
    let passwd: Buffer | undefined;
    try {
      passwd = await image.file('/etc/passwd', PASSWD_MAX_BYTES);
    } finally {
      await image.remove();
    }
    if (passwd === undefined) continue;
    for (const [uid, name] of passwdNames(passwd.toString('utf8'))) if (!names.has(uid)) names.set(uid, name);
  }
  return names;
}

const PASSWD_MAX_BYTES = 1024 * 1024;

/** The strict (with mtimes) listing of an image, measured now; undefined when the engine no longer holds it. */
export type StrictMeasure = (imageId: string) => Promise<{ digest: Digest; listing: Buffer } | undefined>;

export function dockerStrictMeasure(engine: Engine, runId: string): StrictMeasure {
  return async (imageId) => {
    try {
      const m = await measureImage(engine, imageId, runId, { strict: true });
      return { digest: m.digest, listing: m.listing };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
}
