import { relative } from 'node:path';
import { connectEngine } from '../../engine/client.js';
import { AirlockError, EXIT } from '../../errors.js';
import { loadSigningKey } from '../../proof/keys.js';
import { replayBundle } from '../../replay/replay.js';
import { openWorkspace, workspaceRoot } from '../../run/workspace.js';
import { defineCommand } from '../command.js';
import { withInterrupts } from '../interrupts.js';
import { defaultBlobDirs, trustedKeysFor } from './verify.js';

export const replayCommand = defineCommand({
  name: 'replay',
  summary: 'verify a bundle, rebuild and rerun it from what it recorded alone, compare with the signed results',
  usage: `usage: airlock replay <bundle-dir | exported bundle> [--key PEM]... [--cas DIR]... [--root DIR] [--cache] [--keep] [--json]

Verifies the bundle first and refuses one that does not verify (exit 7). Then
reconstructs the run from what the bundle recorded alone — the spec, the
Dockerfiles, the build-context tars (extracted safely), golden files and locks —
in a fresh temporary workspace at another path, checks the engine's base images
against the recorded rootfs digests (saying so plainly when they differ), runs
it from scratch with its own CAS, and compares exit codes, stdout/stderr and
outputs with the signed ones, explaining each difference like \`airlock repro\`.
The replay's own bundle names the original (a resolved dependency) and is kept,
with its blobs, in proofs/<run-id>/. Exit 0 reproduced, 1 differs.

  --key PEM   trust only this public key (repeatable; default: every locks/keys/*.pub.pem)
  --cas DIR   a CAS root holding the original's blobs (repeatable; default: the bundle's
              own blobs/, then ../../artifacts next to it, then ./artifacts)
  --root DIR  workspace whose locks/ hold the trusted keys and whose proofs/ keep the replay
  --cache     let the engine reuse its layer cache (faster; the default rebuilds everything)
  --keep      keep the temporary workspace the run was rebuilt in
  --json      one JSON event per line, then the result with every differing path`,
  options: {
    key: { type: 'string', multiple: true },
    cas: { type: 'string', multiple: true },
    root: { type: 'string' },
    cache: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
  allowPositionals: true,
  async body(ctx) {
    const [bundleDir, ...extra] = ctx.positionals;
    if (!bundleDir || extra.length > 0) throw new AirlockError('USAGE', 'airlock replay takes exactly one bundle directory');
    const root = workspaceRoot(ctx.values.root as string | undefined);
    const workspace = await openWorkspace(root);
    try {
      const trustedKeys = await trustedKeysFor((ctx.values.key as string[] | undefined) ?? [], workspace.locksDir);
      const blobDirs = (ctx.values.cas as string[] | undefined) ?? defaultBlobDirs(bundleDir, root);
      const key = await loadSigningKey();
      const r = await withInterrupts((signal) =>
        replayBundle({
          bundleDir,
          trustedKeys,
          blobDirs,
          workspace,
          docker: connectEngine(),
          key,
          reporter: ctx.reporter,
          signal,
          cache: ctx.values.cache === true,
          keep: ctx.values.keep === true,
        }),
      );
      ctx.result(
        {
          verdict: r.verdict,
          exitCode: r.exitCode,
          ...(r.verdict === 'differs' ? { code: 'NOT_REPRODUCIBLE' } : {}),
          original: r.original,
          replay: r.replay,
          workspaceRoot: r.workspaceRoot,
          kept: r.kept,
          environments: r.environments,
          bases: r.bases,
          inputs: r.inputs,
          reconstruction: r.reconstruction,
          entries: r.entries,
          timings: r.timings,
        },
        [r.report.replace(/\n$/, ''), '', `replay bundle: ${relative(process.cwd(), r.replay.bundleDir) || r.replay.bundleDir}`, r.verdict === 'reproduced' ? 'REPRODUCED' : 'DIFFERS [NOT_REPRODUCIBLE]'],
      );
      return r.exitCode === 0 ? EXIT.OK : EXIT.FAILED;
    } finally {
      workspace.close();
    }
  },
});
