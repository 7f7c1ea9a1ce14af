import type Docker from 'dockerode';
import { isNotFound, statusCode } from './client.js';
import { LABEL_BUILT_BY_SPEC, LABEL_MANAGED, LABEL_PID, LABEL_RUN } from './labels.js';

export interface Removed {
  containers: string[];
  networks: string[];
  volumes: string[];
  /** untagged images airlock built (a rebuild moved their tag away) */
  images: string[];
}

const ignoreGone = (e: unknown) => {
  if (!isNotFound(e) && !/already in progress|No such/.test(String((e as Error).message))) throw e;
};

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes labelled containers, networks and volumes. `labelFilter` narrows to one
 * run; `keep` lets gc spare resources whose controller is still alive.
 */
async function removeLabelled(docker: Docker, labelFilter: string, keep: (labels: Record<string, string>) => boolean): Promise<Removed> {
  const filters = { label: [labelFilter] };
  const removed: Removed = { containers: [], networks: [], volumes: [], images: [] };
  for (const c of await docker.listContainers({ all: true, filters })) {
    if (keep(c.Labels ?? {})) continue;
    await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreGone);
    removed.containers.push(c.Id);
  }
  for (const n of await docker.listNetworks({ filters })) {
    if (keep(n.Labels ?? {})) continue;
    await docker.getNetwork(n.Id).remove().catch(ignoreGone);
    removed.networks.push(n.Id);
  }
  const { Volumes } = await docker.listVolumes({ filters });
  for (const v of Volumes ?? []) {
    if (keep(v.Labels ?? {})) continue;
    await docker.getVolume(v.Name).remove({ force: true }).catch(ignoreGone);
    removed.volumes.push(v.Name);
  }
  return removed;
}

/** Everything one run created. Called on success, failure and interruption alike. */
export function removeRunResources(docker: Docker, runId: string): Promise<Removed> {
  return removeLabelled(docker, `${LABEL_RUN}=${runId}`, () => false);
}

/**
 * What crashed runs left behind: every airlock-labelled resource whose
 * controller process is gone (or all of them with `all`), and the untagged
 * images of airlock builds (`--no-cache` and repro rebuilds leave the old ones).
 */
export async function collectGarbage(docker: Docker, { all = false } = {}): Promise<Removed> {
  const removed = await removeLabelled(docker, `${LABEL_MANAGED}=true`, (labels) => {
    if (all) return false;
    const pid = Number(labels[LABEL_PID]);
    return pid !== process.pid && pidAlive(pid);
  });
  for (const image of await docker.listImages({ filters: { dangling: ['true'], label: [LABEL_BUILT_BY_SPEC] } })) {
    // An image a container still uses (or a newer build's parent) stays: the engine refuses, and that is right.
    await docker
      .getImage(image.Id)
      .remove()
      .then(() => removed.images.push(image.Id))
      .catch((e: unknown) => {
        if (!(statusCode(e) === 409 || isNotFound(e))) throw e;
      });
  }
  return removed;
}
