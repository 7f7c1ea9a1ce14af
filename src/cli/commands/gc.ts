import { connectEngine } from '../../engine/client.js';
import { collectGarbage } from '../../engine/cleanup.js';
import { openWorkspace, workspaceRoot } from '../../run/workspace.js';
import { defineCommand } from '../command.js';

export const gcCommand = defineCommand({
  name: 'gc',
  summary: "remove what crashed runs left: labelled containers, networks, volumes, half-written blobs",
  usage: `usage: airlock gc [--all] [--root DIR] [--json]

Removes every airlock-labelled container, network and volume whose controller
process is gone (with --all: every one), untagged images of airlock builds that
nothing uses, deletes temp files a crashed run left
in artifacts/tmp/, and marks runs left "running" in the ledger as interrupted.`,
  options: { all: { type: 'boolean', default: false }, root: { type: 'string' } },
  async body(ctx) {
    const workspace = await openWorkspace(workspaceRoot(ctx.values.root as string | undefined));
    try {
      const removed = await collectGarbage(connectEngine(), { all: ctx.values.all === true });
      const tempFiles = await workspace.cas.cleanTemp();
      const interrupted = workspace.ledger.markStaleRunsInterrupted();
      ctx.result({ removed, tempFiles, interruptedRuns: interrupted }, [
        `removed ${removed.containers.length} containers, ${removed.networks.length} networks, ${removed.volumes.length} volumes, ${removed.images.length} untagged images`,
        `removed ${tempFiles} temp files; marked ${interrupted.length} stale runs interrupted`,
      ]);
      return 0;
    } finally {
      workspace.close();
    }
  },
});
