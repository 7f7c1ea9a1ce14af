import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { connectEngine } from '../../engine/client.js';
import { collectGarbage } from '../../engine/cleanup.js';
import { openWorkspace } from '../../run/workspace.js';
import type { Body } from '../command.js';
import type { GC_OPTIONS } from '../usage/gc.js';

export const gc: Body<typeof GC_OPTIONS> = async (ctx) => {
  const workspace = await openWorkspace(ctx.root);
  try {
    // runs whose lease died are marked first, so their resources are reaped in the same pass
    const interrupted = workspace.ledger.markStaleRunsInterrupted();
    const owned = { runs: workspace.ledger.runLiveness(), images: workspace.ledger.imageIds() };
    const removed = await collectGarbage(connectEngine(), owned, { all: ctx.values.all === true });
    const tempFiles = await workspace.cas.cleanTemp();
    const partialBundles = await removeDeadPartials(workspace.proofsDir, owned.runs);
    ctx.result({ removed, tempFiles, partialBundles, interruptedRuns: interrupted }, [
      `removed ${removed.containers.length} containers, ${removed.networks.length} networks, ${removed.volumes.length} volumes, ${removed.images.length} untagged images`,
      `removed ${tempFiles} temp files and ${partialBundles.length} unsealed bundle folders; marked ${interrupted.length} stale runs interrupted`,
    ]);
    return 0;
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
