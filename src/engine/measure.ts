import type { Readable } from 'node:stream';
import { normalizeEntryPath } from '../archive/paths.js';
import { BUILDAH_MOUNT_POINTS, rootfsListing } from '../archive/rootfs.js';
import { forEachTarEntry } from '../archive/tar-read.js';
import type { Digest } from '../util/digest.js';
import { engineProduct } from './client.js';
import type { Engine } from './engine.js';
import { openImageFilesystem } from './image-filesystem.js';

export interface RootfsMeasure {
  digest: Digest;
  listing: Buffer;
  entries: number;
}

/**
 * The normalized rootfs digest of an image: export a created (never started)
 * container's filesystem and hash its sorted listing, leaving out what the
 * engine's init layer adds to every container. On Podman, whose builder leaves
 * the mount point of the `/run` it mounts during RUN steps, that directory is
 * left out too, but only when it is bare (empty, 0755, root's) and the image's
 * root base does not have it: the filesystem the Dockerfile made is then the one
 * Docker measures, and anything a Dockerfile put there still counts.
 */
export async function measureImage(engine: Engine, image: string, runId: string, { strict = false } = {}): Promise<RootfsMeasure> {
  const candidates = (await engineProduct(engine)) === 'podman' ? BUILDAH_MOUNT_POINTS : [];
  const first = await exportListing(engine, image, runId, strict, candidates);
  if (first.builderMountPointsLeftOut.length === 0) return first;
  const inBase = await presentInRootBase(engine, image, runId, first.builderMountPointsLeftOut);
  if (inBase.length === 0) return first;
  // the base has it: it is the base's, not the builder's (rare, so measured again rather than kept twice)
  return exportListing(engine, image, runId, strict, first.builderMountPointsLeftOut.filter((p) => !inBase.includes(p)));
}

async function exportListing(engine: Engine, image: string, runId: string, strict: boolean, builderMountPoints: readonly string[]) {
  return withCreated(engine, image, runId, async (tar) => rootfsListing(tar, { strict, containerExport: true, builderMountPoints }));
}

/** The image's filesystem as a tar, given to `read`; the container behind it removed whatever happens. */
async function withCreated<T>(engine: Engine, image: string, runId: string, read: (tar: Readable) => Promise<T>): Promise<T> {
  const fs = await openImageFilesystem(engine, image, runId);
  try {
    return await read(await fs.tar());
  } finally {
    await fs.remove();
  }
}

/**
 * Which of `paths` the image's root base has (in any form): the bottom-most image its
 * history names, the imported rootfs everything above was built on. An image that is its
 * own root (nothing was built on it), or whose history names no other image, counts as
 * having them all, so nothing is left out of it.
 */
async function presentInRootBase(engine: Engine, image: string, runId: string, paths: readonly string[]): Promise<string[]> {
  const [own, history] = await Promise.all([engine.images.inspect(image), engine.images.history(image)]);
  const root = history.map((h) => h.Id).filter((id): id is string => typeof id === 'string' && id !== '<missing>' && id !== '').at(-1);
  if (root === undefined || sameId(root, own.Id)) return [...paths];
  const present = new Set<string>();
  await withCreated(engine, root, runId, (tar) =>
    forEachTarEntry(tar, async (header) => {
      const path = normalizeEntryPath(header.name);
      if (paths.includes(path)) present.add(path);
    }),
  );
  return paths.filter((p) => present.has(p));
}

const sameId = (a: string, b: string) => a.replace(/^sha256:/, '') === b.replace(/^sha256:/, '');
