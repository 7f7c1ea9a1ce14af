import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { runLabels } from './labels.js';

/** An image's filesystem, readable as the engine's export of a container that never runs. */
export interface ImageFilesystem {
  /** the container's id (labelled with the run, so gc finds it if the process dies) */
  id: string;
  /** the filesystem as a tar stream (read it once) */
  tar(): Promise<Readable>;
  /** removes the container; safe to call twice */
  remove(): Promise<void>;
}

/**
 * Opens an image's filesystem: a created, never started container (no network,
 * an entrypoint that does not exist) whose export is the image's rootfs plus what
 * the engine's init layer adds. Rejects with the engine's 404 when the image is
 * not there. Used to measure an image, to read its files, and to make a guest root.
 */
export async function openImageFilesystem(docker: Docker, image: string, runId: string): Promise<ImageFilesystem> {
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['/nonexistent'],
    Labels: runLabels(runId, 'measure'),
    NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none' },
  });
  return {
    id: container.id,
    tar: async () => (await container.export()) as unknown as Readable,
    remove: () => container.remove({ force: true }).then(() => undefined, () => undefined),
  };
}
