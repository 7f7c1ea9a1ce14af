import { connectEngine } from '../../engine/client.js';
import { loadSigningKey } from '../../proof/keys.js';
import { runSpec, type RunResult } from '../../run/run.js';
import { openWorkspace, workspaceRoot } from '../../run/workspace.js';
import { loadSpec } from '../../spec/load.js';
import { defineCommand } from '../command.js';
import { withInterrupts } from '../interrupts.js';

export const RUN_USAGE_FLAGS = `  --spec FILE     the spec (default ./airlock.yaml); relative paths in it resolve against its folder
  --root DIR      workspace holding artifacts/, proofs/, locks/ (default: AIRLOCK_ROOT or the current directory)
  --no-cache      build images without the engine's layer cache
  --json          one JSON event per line on stdout, ending with a result object`;

export function runSummary(r: RunResult): string[] {
  const lines = [`bundle: ${r.bundleDir}`];
  if (r.error) lines.push(`error [${r.error.code}]: ${r.error.message}`);
  lines.push(r.verdict === 'passed' ? 'PASS' : `FAIL (${r.verdict})`);
  return lines;
}

export function runJson(r: RunResult) {
  return {
    runId: r.runId,
    bundleDir: r.bundleDir,
    verdict: r.verdict,
    exitCode: r.exitCode,
    durationMs: r.durationMs,
    images: r.images,
    cells: r.cells,
    ...(r.error ? { error: r.error.toJSON() } : {}),
  };
}

export const runCommand = defineCommand({
  name: 'run',
  summary: 'build and run environments of a spec, sealed, and seal a signed bundle',
  usage: `usage: airlock run [--spec FILE] [ENV...] [--root DIR] [--no-cache] [--json]

Builds the spec's images in dependency order (network none), runs each selected
environment in a hardened cell (default: all), and seals proofs/<run-id>/.
Exit 0 only when every expectation held.

${RUN_USAGE_FLAGS}`,
  options: { spec: { type: 'string' }, root: { type: 'string' }, 'no-cache': { type: 'boolean', default: false } },
  allowPositionals: true,
  async body(ctx) {
    const root = workspaceRoot(ctx.values.root as string | undefined);
    const loaded = await loadSpec((ctx.values.spec as string | undefined) ?? 'airlock.yaml');
    const key = await loadSigningKey();
    const workspace = await openWorkspace(root);
    try {
      const result = await withInterrupts((signal) =>
        runSpec({
          loaded,
          environments: ctx.positionals,
          workspace,
          docker: connectEngine(),
          key,
          reporter: ctx.reporter,
          signal,
          noCache: ctx.values['no-cache'] === true,
        }),
      );
      ctx.result(runJson(result), runSummary(result));
      return result.exitCode;
    } finally {
      workspace.close();
    }
  },
});
