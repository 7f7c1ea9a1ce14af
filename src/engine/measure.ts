import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { rootfsListing } from '../archive/rootfs.js';
import type { Digest } from '../util/digest.js';
import { runLabels } from './labels.js';

export interface RootfsMeasure {
  digest: Digest;
  listing: Buffer;
  entries: number;
}

/**
 * The normalized rootfs digest of an image: export a created (never started)
 * container's filesystem and hash its sorted listing, leaving out what the
 * engine's init layer adds to every container.
 */
export async function measureImage(docker: Docker, image: string, runId: string, { strict = false } = {}): Promise<RootfsMeasure> {
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['/nonexistent'],
    Labels: runLabels(runId, 'measure'),
    NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none' },
  });
  try {
    const tar = (await container.export()) as unknown as Readable;
    return await rootfsListing(tar, { strict, containerExport: true });
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}
