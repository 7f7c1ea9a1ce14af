import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { connectEndpoint, connectEngine } from '../../engine/client.js';
import { collectGarbage, type Removed } from '../../engine/cleanup.js';
import { EXIT, toAirlockError } from '../../errors.js';
import { engineList } from '../../scale/engine-list.js';
import { openWorkspace } from '../../run/workspace.js';
import type { Body } from '../command.js';
import type { GC_OPTIONS } from '../usage/gc.js';

export const gc: Body<typeof GC_OPTIONS> = async (ctx) => {
  const workspace = await openWorkspace(ctx.root);
  try {
    // runs whose lease died are marked first, so their resources are reaped in the same pass
    const interrupted = workspace.ledger.markStaleRunsInterrupted();
    const owned = { runs: workspace.ledger.runLiveness(), images: workspace.ledger.imageIds() };
    // the default engine and every listed one (--engines, else AIRLOCK_ENGINES or the user config)
    const listed = engineList(typeof ctx.values.engines === 'string' ? { ...process.env, AIRLOCK_ENGINES: ctx.values.engines } : process.env);
    const engines = [connectEngine(), ...listed.map((n) => connectEndpoint(n.endpoint, n.name))];
    const perEngine = await Promise.all(
      engines.map(async (engine) => {
        try {
          return { engine: engine.name, removed: await collectGarbage(engine, owned, { all: ctx.values.all === true }) };
        } catch (e) {
          return { engine: engine.name, error: toAirlockError(e).toJSON() };
        }
      }),
    );
    const removed = sumRemoved(perEngine.flatMap((p) => ('removed' in p && p.removed ? [p.removed] : [])));
    const failed = perEngine.filter((p) => 'error' in p);
    const tempFiles = await workspace.cas.cleanTemp();
    const partialBundles = await removeDeadPartials(workspace.proofsDir, owned.runs);
    ctx.result({ removed, engines: perEngine, tempFiles, partialBundles, interruptedRuns: interrupted }, [
      `removed ${removed.containers.length} containers, ${removed.networks.length} networks, ${removed.volumes.length} volumes, ${removed.images.length} untagged images${engines.length > 1 ? ` on ${engines.length - failed.length} engines` : ''}`,
      ...failed.map((f) => `could not reach ${f.engine}: ${'error' in f ? f.error?.message : ''}`),
      `removed ${tempFiles} temp files and ${partialBundles.length} unsealed bundle folders; marked ${interrupted.length} stale runs interrupted`,
    ]);
    return failed.length > 0 ? EXIT.ENGINE : 0;
  } finally {
    workspace.close();
  }
};

/** `proofs/.<run>.partial` folders of runs that are not live (or unknown): a crash before sealing left them. */
async function removeDeadPartials(proofsDir: string, runs: ReadonlyMap<string, boolean>): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(proofsDir).catch(() => [] as string[])) {
    const run = /^\.(.+)\.partial$/.exec(name)?.[1];
    if (run === undefined || runs.get(run) === true) continue;
    await rm(join(proofsDir, name), { recursive: true, force: true });
    removed.push(run);
  }
  return removed;
}

function sumRemoved(all: Removed[]): Removed {
  return {
    containers: all.flatMap((r) => r.containers),
    networks: all.flatMap((r) => r.networks),
    volumes: all.flatMap((r) => r.volumes),
    images: all.flatMap((r) => r.images),
  };
}
