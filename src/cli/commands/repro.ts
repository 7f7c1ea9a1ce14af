import { relative } from 'node:path';
import { connectEngine } from '../../engine/client.js';
import { AirlockError, EXIT, isAirlockError } from '../../errors.js';
import { loadSigningKey, loadTrustedKeys } from '../../proof/keys.js';
import { runRepro } from '../../repro/run-repro.js';
import { DIMENSIONS, parseVary } from '../../repro/variations.js';
import { openWorkspace, workspaceRoot } from '../../run/workspace.js';
import { loadSpec } from '../../spec/load.js';
import { verifyBundle } from '../../verify/index.js';
import { defineCommand } from '../command.js';
import { withInterrupts } from '../interrupts.js';

export const reproCommand = defineCommand({
  name: 'repro',
  summary: 'build and run N times from scratch under variations, compare, seal a signed verdict',
  usage: `usage: airlock repro [--runs N] [--vary LIST] [--spec FILE] [--root DIR] [--strict] [--no-diffoscope] [--json]

Builds every image and runs every environment that has outputs N times from
scratch (no layer cache, no action cache). Run 1 uses airlock's defaults; each
later run varies every selected dimension that applies:
  ${DIMENSIONS.join(', ')}
Then compares each later run with run 1: images by normalized rootfs digest
(with --strict also by mtimes, outputs also by mode), outputs bit for bit. Each
differing path is named with what differs and its likely cause (timestamp,
hostname, build-path, username, locale-sort, file-order, random), with evidence.
The verdict is sealed into a signed bundle, proofs/repro-<id>/, that
\`airlock verify\` accepts. Exit 0 reproducible, 1 not reproducible.

  --runs N         runs to compare (default 2, at most 10)
  --vary LIST      comma-separated dimensions to vary (default: all that apply), or none
  --spec FILE      the spec (default ./airlock.yaml)
  --root DIR       workspace holding artifacts/, proofs/, locks/
  --strict         also compare image mtimes and output modes
  --no-diffoscope  do not attach diffoscope's report (attached when installed)
  --json           one JSON event per line, then the result with every differing path`,
  options: {
    runs: { type: 'string' },
    vary: { type: 'string' },
    spec: { type: 'string' },
    root: { type: 'string' },
    strict: { type: 'boolean', default: false },
    'no-diffoscope': { type: 'boolean', default: false },
  },
  async body(ctx) {
    const runsText = (ctx.values.runs as string | undefined) ?? '2';
    if (!/^\d+$/.test(runsText)) throw new AirlockError('USAGE', `--runs: expected an integer from 2 to 10, got "${runsText}"`);
    const vary = parseVary(ctx.values.vary as string | undefined);
    const loaded = await loadSpec((ctx.values.spec as string | undefined) ?? 'airlock.yaml');
    const key = await loadSigningKey();
    const workspace = await openWorkspace(workspaceRoot(ctx.values.root as string | undefined));
    try {
      const result = await withInterrupts((signal) =>
        runRepro({
          loaded,
          workspace,
          docker: connectEngine(),
          key,
          reporter: ctx.reporter,
          signal,
          runs: Number(runsText),
          vary,
          strict: ctx.values.strict === true,
          diffoscope: ctx.values['no-diffoscope'] !== true,
        }),
      );
      // The verdict bundle must verify like any other: check it now, with the workspace's trusted keys.
      let verified: { ok: true; keyid: string } | { ok: false; problem: string };
      try {
        const report = await verifyBundle({ bundleDir: result.bundleDir, trustedKeys: await loadTrustedKeys(workspace.locksDir), blobDirs: [workspace.artifactsDir] });
        verified = { ok: true, keyid: report.keyid };
      } catch (e) {
        if (!isAirlockError(e)) throw e;
        verified = { ok: false, problem: `[${e.code}] ${e.message}` };
      }
      const where = relative(process.cwd(), result.bundleDir) || result.bundleDir;
      ctx.result(
        {
          reproId: result.reproId,
          bundleDir: result.bundleDir,
          reproducible: result.reproducible,
          exitCode: result.exitCode,
          ...(result.reproducible ? {} : { code: 'NOT_REPRODUCIBLE' }),
          environments: result.environments,
          runs: result.runs,
          variations: result.variations,
          verdicts: result.verdicts,
          entries: result.entries,
          notBuilt: result.notBuilt,
          reports: result.report.blobs,
          verified,
          timings: result.timings,
        },
        [
          result.report.text.replace(/\n$/, ''),
          '',
          verified.ok ? `bundle: ${where} (verified, signed by ${verified.keyid})` : `bundle: ${where} NOT verified: ${verified.problem}`,
          `timings: ${(result.timings.totalMs / 1000).toFixed(1)}s total, runs ${(result.timings.runsMs / 1000).toFixed(1)}s, compare ${(result.timings.compareMs / 1000).toFixed(1)}s`,
          result.reproducible ? 'REPRODUCIBLE' : 'NOT REPRODUCIBLE [NOT_REPRODUCIBLE]',
        ],
      );
      if (!verified.ok) return EXIT.VERIFY;
      return result.reproducible ? EXIT.OK : EXIT.FAILED;
    } finally {
      workspace.close();
    }
  },
});
