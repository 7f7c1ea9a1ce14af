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
    ctx.result({ removed, tempFiles, interruptedRuns: interrupted }, [
      `removed ${removed.containers.length} containers, ${removed.networks.length} networks, ${removed.volumes.length} volumes, ${removed.images.length} untagged images`,
      `removed ${tempFiles} temp files; marked ${interrupted.length} stale runs interrupted`,
    ]);
    return 0;
  } finally {
    workspace.close();
  }
};
