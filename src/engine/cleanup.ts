import { isNotFound, statusCode } from './client.js';
import type { Engine } from './engine.js';
import { LABEL_BUILT_BY_SPEC, LABEL_MANAGED, LABEL_RUN } from './labels.js';

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

/**
 * Removes labelled containers, networks and volumes. `labelFilter` narrows to one
 * run; `keep` lets gc spare what is not its workspace's or whose run is still live.
 */
async function removeLabelled(engine: Engine, labelFilter: string, keep: (labels: Record<string, string>) => boolean): Promise<Removed> {
  const filters = { label: [labelFilter] };
  const removed: Removed = { containers: [], networks: [], volumes: [], images: [] };
  for (const c of await engine.containers.list(filters)) {
    if (keep(c.Labels ?? {})) continue;
    await engine.containers.get(c.Id).remove({ force: true, volumes: true }).catch(ignoreGone);
    removed.containers.push(c.Id);
  }
  for (const n of await engine.networks.list(filters)) {
    if (keep(n.Labels ?? {})) continue;
    await engine.networks.remove(n.Id).catch(ignoreGone);
    removed.networks.push(n.Id);
  }
  for (const v of await engine.volumes.list(filters)) {
    if (keep(v.Labels ?? {})) continue;
    await engine.volumes.remove(v.Name, { force: true }).catch(ignoreGone);
    removed.volumes.push(v.Name);
  }
  return removed;
}

/** Everything one run created. Called on success, failure and interruption alike. */
export function removeRunResources(engine: Engine, runId: string): Promise<Removed> {
  return removeLabelled(engine, `${LABEL_RUN}=${runId}`, () => false);
}

/** What a workspace knows of its own runs: gc touches nothing else. */
export interface Ownership {
  /** this workspace's runs, and whether each is live (its lease renewed) */
  runs: ReadonlyMap<string, boolean>;
  /** image ids this workspace's runs built */
  images: ReadonlySet<string>;
}

/**
 * What this workspace's crashed runs left behind: every airlock-labelled resource of one of
 * its runs whose lease is dead (or of any of its runs with `all`), and the untagged images
 * its builds made (`--no-cache` and repro rebuilds leave the old ones). Another workspace's
 * resources, on a shared or remote engine another machine's, are never touched.
 */
export async function collectGarbage(engine: Engine, owned: Ownership, { all = false } = {}): Promise<Removed> {
  const removed = await removeLabelled(engine, `${LABEL_MANAGED}=true`, (labels) => {
    const run = labels[LABEL_RUN];
    if (run === undefined || !owned.runs.has(run)) return true;
    return !all && owned.runs.get(run) === true;
  });
  for (const image of await engine.images.list({ dangling: ['true'], label: [LABEL_BUILT_BY_SPEC] })) {
    if (!owned.images.has(image.Id)) continue;
    // An image a container still uses (or a newer build's parent) stays: the engine refuses, and that is right.
    await engine.images
      .remove(image.Id)
      .then(() => removed.images.push(image.Id))
      .catch((e: unknown) => {
        if (!(statusCode(e) === 409 || isNotFound(e))) throw e;
      });
  }
  return removed;
}
