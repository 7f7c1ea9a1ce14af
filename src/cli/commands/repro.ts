import { relative } from 'node:path';
import { connectEngine } from '../../engine/client.js';
import { AirlockError } from '../../errors.js';
import { loadSigningKey } from '../../proof/keys.js';
import { runRepro } from '../../repro/run-repro.js';
import { parseVary } from '../../repro/variations.js';
import { openWorkspace } from '../../run/workspace.js';
import { loadSpec } from '../../spec/load.js';
import type { Body } from '../command.js';
import { reproVerdict, trustAndVerify } from '../sealed-check.js';
import type { REPRO_OPTIONS } from '../usage/repro.js';
import { withInterrupts } from '../interrupts.js';
import { remoteCacheOptions, settleRemoteCache } from '../remote-cache.js';

export const repro: Body<typeof REPRO_OPTIONS> = async (ctx) => {
  const runsText = (ctx.values.runs as string | undefined) ?? '2';
  if (!/^\d+$/.test(runsText)) throw new AirlockError('USAGE', `--runs: expected an integer from 2 to 10, got "${runsText}"`);
  const vary = parseVary(ctx.values.vary as string | undefined);
  const loaded = await loadSpec(ctx.specFile());
  const key = await loadSigningKey();
  const workspace = await openWorkspace(ctx.root, remoteCacheOptions(ctx.reporter));
  try {
    const result = await withInterrupts((signal) =>
      runRepro({
        loaded,
        workspace,
        engine: connectEngine(),
        key,
        reporter: ctx.reporter,
        signal,
        runs: Number(runsText),
        vary,
        strict: ctx.values.strict === true,
        diffoscope: ctx.values['no-diffoscope'] !== true,
        attribute: ctx.values['no-attribute'] !== true,
      }),
    );
    // The verdict bundle must verify like any other: trust on first use, then verify it with the workspace's trusted keys.
    const sealed = await trustAndVerify({ bundleDir: result.bundleDir, key, workspace, reporter: ctx.reporter });
    const verified = sealed.check.verified ? { ok: true, keyid: sealed.check.keyid } : { ok: false, code: sealed.check.code, problem: sealed.check.problem };
    const verdict = reproVerdict(result.reproducible, sealed);
    const where = relative(process.cwd(), result.bundleDir) || result.bundleDir;
    ctx.result(
      {
        reproId: result.reproId,
        bundleDir: result.bundleDir,
        reproducible: result.reproducible,
        exitCode: verdict.exitCode,
        ...(verdict.code ? { code: verdict.code } : {}),
        environments: result.environments,
        runs: result.runs,
        variations: result.variations,
        verdicts: result.verdicts,
        entries: result.entries,
        ...(result.attribution ? { attribution: result.attribution } : {}),
        notBuilt: result.notBuilt,
        reports: result.report.blobs,
        verified,
        trust: sealed.trust,
        timings: result.timings,
      },
      [
        result.report.text.replace(/\n$/, ''),
        '',
        sealed.check.verified ? `bundle: ${where} (verified, signed by ${sealed.check.keyid})` : `bundle: ${where} NOT verified: ${sealed.check.problem}`,
        `timings: ${(result.timings.totalMs / 1000).toFixed(1)}s total, runs ${(result.timings.runsMs / 1000).toFixed(1)}s, compare ${(result.timings.compareMs / 1000).toFixed(1)}s${result.attribution ? `, attribution ${(result.timings.attributeMs / 1000).toFixed(1)}s (${result.attribution.experiments.length} experiment runs)` : ''}`,
        verdict.line,
      ],
    );
    return verdict.exitCode;
  } finally {
    await settleRemoteCache(workspace, ctx.reporter);
    workspace.close();
  }
};
