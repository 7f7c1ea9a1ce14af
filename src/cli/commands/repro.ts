import { relative } from 'node:path';
import { connectEngine } from '../../engine/client.js';
import { AirlockError, EXIT, isAirlockError } from '../../errors.js';
import { loadSigningKey, loadTrustedKeys } from '../../proof/keys.js';
import { runRepro } from '../../repro/run-repro.js';
import { parseVary } from '../../repro/variations.js';
import { openWorkspace } from '../../run/workspace.js';
import { loadSpec } from '../../spec/load.js';
import { verifyBundle } from '../../verify/index.js';
import type { Body } from '../command.js';
import type { REPRO_OPTIONS } from '../usage/repro.js';
import { withInterrupts } from '../interrupts.js';

export const repro: Body<typeof REPRO_OPTIONS> = async (ctx) => {
  const runsText = (ctx.values.runs as string | undefined) ?? '2';
  if (!/^\d+$/.test(runsText)) throw new AirlockError('USAGE', `--runs: expected an integer from 2 to 10, got "${runsText}"`);
  const vary = parseVary(ctx.values.vary as string | undefined);
  const loaded = await loadSpec(ctx.specFile());
  const key = await loadSigningKey();
  const workspace = await openWorkspace(ctx.root);
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
};
