import type { Engine } from '../engine/engine.js';
import type { Variation } from '../engine/variation.js';
import { AirlockError } from '../errors.js';
import type { BlobReader } from '../proof/blob-reader.js';
import type { SigningKey } from '../proof/keys.js';
import { readRunRecord, type RunRecord } from '../proof/run-record.js';
import type { Reporter } from '../run/reporter.js';
import { runSpec } from '../run/run.js';
import type { Workspace } from '../run/workspace.js';
import type { LoadedSpec } from '../spec/types.js';
import { attribute, planExperiments, type Experiment, type PathAttribution } from './attribution.js';
import { compareRuns, runFacts, type Comparison } from './compare-runs.js';
import type { DimensionPlan } from './variations.js';

export interface ExperimentRun {
  /** the run's number in the repro (after the compared runs) */
  index: number;
  label: Experiment['label'];
  runId: string;
  bundleDir: string;
  verdict: string;
  variation: Variation | null;
  startedAt: string;
  finishedAt: string;
  /** paths that differ from run 1 */
  differing: number;
}

export interface Attribution {
  experiments: ExperimentRun[];
  paths: PathAttribution[];
  records: RunRecord[];
  ms: number;
}

export interface AttributionOptions {
  loaded: LoadedSpec;
  environments: string[];
  workspace: Workspace;
  engine: Engine;
  key: SigningKey;
  reporter: Reporter;
  signal: AbortSignal;
  blobs: { a: BlobReader; b: BlobReader };
  /** run 1 (airlock defaults), which every experiment is compared with */
  first: RunRecord;
  /** how many runs the repro made before the experiments */
  runsBefore: number;
  plan: { dimensions: DimensionPlan[]; perRun: (Variation | undefined)[] };
  comparisons: readonly Comparison[];
  /** uid → name from the images (runFacts) */
  userNames: ReadonlyMap<number, string>;
}

/**
 * Runs the experiments of `planExperiments` and attributes every differing
 * output and log path. The experiments run on run 1's images (its builds are
 * put back in the build cache first) and skip the action cache, so each costs
 * only its cells and differs from run 1 only by what it varies and the clock.
 */
export async function attributeByExperiment(o: AttributionOptions): Promise<Attribution> {
  const t0 = performance.now();
  for (const img of o.first.images) if (img.buildKey !== undefined) o.workspace.ledger.putBuild(img.buildKey, img.key, img.imageId);
  const experiments = planExperiments(o.plan.dimensions, o.plan.perRun[1]);
  o.reporter.event({ type: 'repro-attribution', experiments: experiments.map((e) => e.label) });
  o.reporter.info(`repro: attributing the differences: ${experiments.length} experiment runs (${experiments.map((e) => e.label).join(', ')})`);
  const runs: ExperimentRun[] = [];
  const records: RunRecord[] = [];
  const results = [];
  for (const [i, e] of experiments.entries()) {
    const index = o.runsBefore + i + 1;
    o.reporter.event({ type: 'repro-run', index, variation: e.variation ?? null, experiment: e.label });
    o.reporter.info(`repro: run ${index} experiment ${e.label}${e.variation ? ` (${Object.entries(e.variation).map(([k, v]) => `${k}=${String(v)}`).join(' ')})` : ' (nothing varied)'}`);
    const r = await runSpec({
      loaded: o.loaded,
      environments: o.environments,
      workspace: o.workspace,
      engine: o.engine,
      key: o.key,
      reporter: o.reporter,
      signal: o.signal,
      runAllCells: true,
      ...(e.variation ? { variation: e.variation } : {}),
    });
    if (r.verdict === 'interrupted') throw r.error ?? new AirlockError('INTERRUPTED', 'interrupted');
    const record = await readRunRecord(r.bundleDir);
    records.push(record);
    const c = await compareRuns(o.first, record, { blobs: o.blobs, ctx: { runs: [runFacts(o.first, '', o.userNames), runFacts(record, '', o.userNames)] } });
    const differences = [
      ...c.outputDifferences.map((entry) => ({ scope: 'output' as const, entry })),
      ...c.logDifferences.map((entry) => ({ scope: 'log' as const, entry })),
    ];
    results.push({ label: e.label, differences });
    runs.push({
      index,
      label: e.label,
      runId: r.runId,
      bundleDir: r.bundleDir,
      verdict: r.verdict,
      variation: e.variation ?? null,
      startedAt: record.startedAt.toISOString(),
      finishedAt: record.finishedAt.toISOString(),
      differing: differences.length,
    });
  }
  const targets = o.comparisons.flatMap((c) => [
    ...c.outputDifferences.map((entry) => ({ scope: 'output' as const, entry })),
    ...c.logDifferences.map((entry) => ({ scope: 'log' as const, entry })),
  ]);
  return { experiments: runs, paths: attribute(targets, results), records, ms: Math.round(performance.now() - t0) };
}
