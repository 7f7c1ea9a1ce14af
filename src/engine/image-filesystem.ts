import type { Readable } from 'node:stream';
import { forEachTarEntry } from '../archive/tar-read.js';
import { isNotFound } from './client.js';
import type { Engine } from './engine.js';
import { runLabels } from './labels.js';

/** An image's filesystem, readable as the engine's export of a container that never runs. */
export interface ImageFilesystem {
  /** the container's id (labelled with the run, so gc finds it if the process dies) */
  id: string;
  /** the filesystem as a tar stream (read it once) */
  tar(): Promise<Readable>;
  /** one regular file's bytes, up to `maxBytes` (undefined when it is absent, not a regular file, or larger) */
  file(path: string, maxBytes: number): Promise<Buffer | undefined>;
  /** removes the container; safe to call twice */
  remove(): Promise<void>;
}

/**
 * Opens an image's filesystem: a created, never started container (no network,
 * an entrypoint that does not exist) whose export is the image's rootfs plus what
 * the engine's init layer adds. Rejects with the engine's 404 when the image is
 * not there. Used to measure an image, to read its files, and to make a guest root.
 */
export async function openImageFilesystem(engine: Engine, image: string, runId: string): Promise<ImageFilesystem> {
  const container = await engine.containers.create({
    Image: image,
    Entrypoint: ['/nonexistent'],
    Labels: runLabels(runId, 'measure'),
    NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none' },
  });
  return {
    id: container.id,
    tar: () => container.export(),
    file: async (path, maxBytes) => {
      let tar: Readable;
      try {
        // the archive API reads one path of the image without exporting the rest
        tar = await container.readArchive(path);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
      let bytes: Buffer | undefined;
      await forEachTarEntry(tar, async (header, body) => {
        if (bytes !== undefined || (header.type !== 'file' && header.type !== 'contiguous-file') || (header.size ?? 0) > maxBytes) return;
        const chunks: Buffer[] = [];
        for await (const c of body) chunks.push(c);
        bytes = Buffer.concat(chunks);
      });
      return bytes;
    },
    remove: () => container.remove({ force: true }).then(() => undefined, () => undefined),
  };
}
