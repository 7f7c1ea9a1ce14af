import { connectEngine } from '../../engine/client.js';
import { loadSigningKey, loadTrustedKeys } from '../../proof/keys.js';
import { runSpec } from '../../run/run.js';
import { openWorkspace, workspaceRoot } from '../../run/workspace.js';
import { loadSpec } from '../../spec/load.js';
import { verifyBundle } from '../../verify/index.js';
import { defineCommand } from '../command.js';
import { withInterrupts } from '../interrupts.js';
import { runJson } from './run.js';

export const smokeCommand = defineCommand({
  name: 'smoke',
  summary: 'run the root spec, then verify its bundle',
  usage: `usage: airlock smoke [--spec FILE] [--root DIR] [--json]

Runs every environment of the root spec (./airlock.yaml), then verifies the
sealed bundle with the trusted keys in locks/. Prints the bundle path and PASS
only when the run passed and its bundle verified.`,
  options: { spec: { type: 'string' }, root: { type: 'string' } },
  async body(ctx) {
    const root = workspaceRoot(ctx.values.root as string | undefined);
    const loaded = await loadSpec((ctx.values.spec as string | undefined) ?? 'airlock.yaml');
    const key = await loadSigningKey();
    const workspace = await openWorkspace(root);
    try {
      const result = await withInterrupts((signal) =>
        runSpec({ loaded, workspace, docker: connectEngine(), key, reporter: ctx.reporter, signal }),
      );
      const report = await verifyBundle({
        bundleDir: result.bundleDir,
        trustedKeys: await loadTrustedKeys(workspace.locksDir),
        blobDirs: [workspace.artifactsDir],
      });
      const pass = result.verdict === 'passed';
      ctx.result({ ...runJson(result), verified: report }, [
        `bundle: ${result.bundleDir}`,
        `verified: ${report.checks.length} checks, signed by ${report.keyid}`,
        ...(result.error ? [`error [${result.error.code}]: ${result.error.message}`] : []),
        pass ? 'PASS' : `FAIL (${result.verdict})`,
      ]);
      return result.exitCode;
    } finally {
      workspace.close();
    }
  },
});
