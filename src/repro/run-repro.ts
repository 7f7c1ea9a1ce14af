import { rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine } from '../engine/engine.js';
import { parseRootfsListing } from '../archive/rootfs.js';
import type { Variation } from '../engine/variation.js';
import { AirlockError } from '../errors.js';
import type { SigningKey } from '../proof/keys.js';
import { BUNDLE_FILES, type ManifestBlob } from '../proof/manifest.js';
import { sealBundle } from '../proof/seal.js';
import type { ResourceDescriptor } from '../proof/statement.js';
import { TranscriptWriter } from '../proof/transcript.js';
import type { Reporter } from '../run/reporter.js';
import { runSpec, type RunResult } from '../run/run.js';
import { newRunId } from '../util/run-id.js';
import type { Workspace } from '../run/workspace.js';
import type { LoadedSpec } from '../spec/types.js';
import { digestHex } from '../util/digest.js';
import { AIRLOCK_VERSION, BUILDER_ID } from '../version.js';
import { casReader, type BlobRef } from '../proof/blob-reader.js';
import { readRunRecord, type RunRecord } from '../proof/run-record.js';
import { compareRuns, diffoscopeOutputs, runFacts, type Comparison } from './compare-runs.js';
import { renderComparison, reportEntries, type ReportEntry } from './comparison-report.js';
import { dockerImageFiles, dockerStrictMeasure, imageUserNames } from './image-files.js';
import { DIMENSIONS, findFaketime, planVariations, type Dimension, type DimensionPlan } from './variations.js';
import { renderAttribution, type PathAttribution } from './attribution.js';
import { attributeByExperiment, type Attribution, type ExperimentRun } from './experiments.js';

export interface ReproOptions {
  loaded: LoadedSpec;
  workspace: Workspace;
  engine: Engine;
  key: SigningKey;
  reporter: Reporter;
  signal: AbortSignal;
  /** runs from scratch, each compared with the first. Default 2. */
  runs?: number;
  /** dimensions to vary. Default: all (those that do not apply are listed as such). */
  vary?: ReadonlySet<Dimension>;
  /** images also by mtimes (strict listings), outputs also by mode. Default false. */
  strict?: boolean;
  /** attach diffoscope's report when it is installed. Default true. */
  diffoscope?: boolean;
  /** when runs differ, attribute each differing path by experiment (attribution.ts). Default true. */
  attribute?: boolean;
}

export type ReproVerdict = 'reproducible' | 'not-reproducible';

export interface ReproRun {
  index: number;
  runId: string;
  bundleDir: string;
  verdict: RunResult['verdict'];
  variation: Variation | null;
  startedAt: string;
  finishedAt: string;
}

export interface ReproResult {
  reproId: string;
  bundleDir: string;
  reproducible: boolean;
  exitCode: 0 | 1;
  environments: string[];
  runs: ReproRun[];
  variations: DimensionPlan[];
  /** run 1 against each later run */
  comparisons: Comparison[];
  verdicts: { images: Record<string, ReproVerdict>; outputs: Record<string, ReproVerdict>; cells: Record<string, ReproVerdict> };
  /** every differing path, with the runs it was found between */
  entries: (ReportEntry & { runs: [number, number] })[];
  /** when runs differed and attribution was on: the experiment runs and each path's proven causes */
  attribution?: { experiments: ExperimentRun[]; paths: PathAttribution[] };
  /** images of the spec no selected environment needs (airlock builds only what cells run in) */
  notBuilt: string[];
  report: { text: string; blobs: Record<string, BlobRef> };
  timings: { totalMs: number; runsMs: number; sleepMs: number; compareMs: number; attributeMs: number; sealMs: number };
}

const MAX_RUNS = 10;

/**
 * `airlock repro`: builds every image and runs every cell that has outputs N times
 * from scratch (no layer cache, no action cache), run 1 with airlock's defaults and
 * each later run under variations; compares each later run with run 1 (images by
 * normalized rootfs digest, outputs bit for bit), explains what differs, and seals
 * the verdict into a signed bundle of its own whose subjects are the reports.
 */
export async function runRepro(opts: ReproOptions): Promise<ReproResult> {
  const runs = opts.runs ?? 2;
  if (!Number.isSafeInteger(runs) || runs < 2 || runs > MAX_RUNS) throw new AirlockError('USAGE', `--runs: expected an integer from 2 to ${MAX_RUNS}, got ${String(runs)}`);
  const { loaded, workspace, engine, reporter, signal } = opts;
  const strict = opts.strict ?? false;
  const started = new Date();
  const t0 = performance.now();
  const reproId = `repro-${newRunId(started)}`;
  const environments = selectEnvironments(loaded);
  const cells = environments.map((id) => {
    const env = loaded.spec.environments[id]!;
    return { id, user: env.policy.user, isolation: env.isolation, ...(env.workdir !== undefined ? { workdir: env.workdir } : {}) };
  });
  const cpus = Number((await engine.system.info()).NCPU ?? 1);
  reporter.event({ type: 'repro-started', reproId, runs, environments });
  reporter.info(`airlock: repro ${reproId}: ${runs} runs from scratch of ${environments.join(', ')}`);

  const results: RunResult[] = [];
  const runOne = async (index: number, variation: Variation | undefined): Promise<RunResult> => {
    reporter.event({ type: 'repro-run', index, variation: variation ?? null });
    reporter.info(`repro: run ${index}/${runs}${variation ? ` varying ${Object.keys(variation).join(', ')}` : ' (airlock defaults)'}`);
    const r = await runSpec({ loaded, environments, workspace, engine, key: opts.key, reporter, signal, noCache: true, ...(variation ? { variation } : {}) });
    if (r.verdict === 'interrupted') throw r.error ?? new AirlockError('INTERRUPTED', 'interrupted');
    return r;
  };

  let sleepMs = 0;
  const tRuns = performance.now();
  const first = await runOne(1, undefined);
  if (first.verdict === 'error') {
    throw new AirlockError(first.error?.code ?? 'INTERNAL', `repro: run 1 (airlock defaults) did not complete, so there is nothing to compare: ${first.error?.message ?? 'error'}`, {
      ...(first.error ? { cause: first.error } : {}),
      details: { runId: first.runId, bundleDir: first.bundleDir },
    });
  }
  results.push(first);
  const records: RunRecord[] = [await readRunRecord(first.bundleDir)];
  const faketimeLibrary = await detectFaketime(records[0]!, workspace);
  const plan = planVariations(opts.vary ?? new Set(DIMENSIONS), { runs, cpus, cells, ...(faketimeLibrary ? { faketimeLibrary } : {}) });
  reporter.event({ type: 'repro-variations', dimensions: plan.dimensions });
  for (const d of plan.dimensions) reporter.info(`  vary ${d.dimension.padEnd(9)} ${d.status.padEnd(14)} ${d.status === 'on' ? d.values.join(' | ') : d.reason}`);
  for (let k = 2; k <= runs; k++) {
    const s = performance.now();
    if (plan.sleepMs > 0) {
      await sleep(plan.sleepMs, undefined, { signal }).catch((e: unknown) => {
        throw signal.aborted ? new AirlockError('INTERRUPTED', 'interrupted between runs', { cause: e }) : e;
      });
    }
    sleepMs += performance.now() - s;
    const r = await runOne(k, plan.perRun[k - 1]);
    results.push(r);
    records.push(await readRunRecord(r.bundleDir));
  }
  const runsMs = performance.now() - tRuns;

  const tCompare = performance.now();
  const blobs = { a: casReader(workspace.cas), b: casReader(workspace.cas) };
  const imageFiles = dockerImageFiles(engine, reproId);
  const userNames = await imageUserNames(engine, reproId, records[0]!.images.map((i) => i.imageId));
  const comparisons: Comparison[] = [];
  for (let k = 1; k < records.length; k++) {
    const c = await compareRuns(records[0]!, records[k]!, {
      blobs,
      ctx: { runs: [runFacts(records[0]!, '', userNames), runFacts(records[k]!, '', userNames)] },
      strict,
      imageFiles,
      ...(strict ? { measureStrict: dockerStrictMeasure(engine, reproId) } : {}),
    });
    if (!c.reproducible && opts.diffoscope !== false) {
      const d = await diffoscopeOutputs(c, blobs);
      if (d) c.diffoscope = d;
    }
    comparisons.push(c);
    reporter.event({ type: 'repro-compared', a: 1, b: k + 1, reproducible: c.reproducible });
  }
  const compareMs = performance.now() - tCompare;

  const reproducible = comparisons.every((c) => c.reproducible);
  // only outputs and logs can be attributed: the experiments rerun cells, never builds
  const attributable = comparisons.some((c) => c.outputDifferences.length + c.logDifferences.length > 0);
  const attribution =
    !attributable || opts.attribute === false
      ? undefined
      : await attributeByExperiment({ loaded, environments, workspace, engine, key: opts.key, reporter, signal, blobs, first: records[0]!, runsBefore: runs, plan, comparisons, userNames });
  const verdicts = verdictsOf(comparisons);
  const entries = comparisons.flatMap((c, i) => reportEntries(c).map((e) => ({ ...e, runs: [1, i + 2] as [number, number] })));
  const builtNames = new Set(records.flatMap((r) => r.images.map((i) => i.name)));
  const notBuilt = Object.keys(loaded.spec.images).filter((n) => !builtNames.has(n));
  const reproRuns: ReproRun[] = results.map((r, i) => ({
    index: i + 1,
    runId: r.runId,
    bundleDir: r.bundleDir,
    verdict: r.verdict,
    variation: plan.perRun[i] ?? null,
    startedAt: records[i]!.startedAt.toISOString(),
    finishedAt: records[i]!.finishedAt.toISOString(),
  }));

  const attributed = attribution ? { experiments: attribution.experiments, paths: attribution.paths } : undefined;
  const text = renderReport({ reproId, loaded, strict, runs: reproRuns, plan: plan.dimensions, comparisons, reproducible, notBuilt, workspace, attribution: attributed });
  const json = {
    reproId,
    spec: { name: loaded.spec.name, path: relative(workspace.root, loaded.file), digest: loaded.digest },
    strict,
    reproducible,
    environments,
    runs: reproRuns,
    variations: plan.dimensions,
    verdicts,
    notBuilt,
    comparisons: comparisons.map(comparisonJson),
    entries,
    ...(attributed ? { attribution: attributed } : {}),
  };

  const tSeal = performance.now();
  const bundleDir = join(workspace.proofsDir, reproId);
  const reportBlobs = await seal({ opts, reproId, bundleDir, started, records, results: reproRuns, plan: plan.dimensions, comparisons, verdicts, reproducible, text, json, strict, attribution });
  const sealMs = performance.now() - tSeal;
  reporter.event({ type: 'sealed', runId: reproId, bundleDir, keyid: opts.key.keyid });

  return {
    reproId,
    bundleDir,
    reproducible,
    exitCode: reproducible ? 0 : 1,
    environments,
    runs: reproRuns,
    variations: plan.dimensions,
    comparisons,
    verdicts,
    entries,
    ...(attributed ? { attribution: attributed } : {}),
    notBuilt,
    report: { text, blobs: reportBlobs },
    timings: {
      totalMs: Math.round(performance.now() - t0),
      runsMs: Math.round(runsMs),
      sleepMs: Math.round(sleepMs),
      compareMs: Math.round(compareMs),
      attributeMs: attribution?.ms ?? 0,
      sealMs: Math.round(sealMs),
    },
  };
}

/** Environments with outputs (what there is to compare besides images); all of them when none has outputs. */
export function selectEnvironments(loaded: LoadedSpec): string[] {
  const all = Object.keys(loaded.spec.environments);
  const withOutputs = all.filter((e) => loaded.spec.environments[e]!.outputs.length > 0);
  return withOutputs.length > 0 ? withOutputs : all;
}

async function detectFaketime(record: RunRecord, workspace: Workspace): Promise<string | undefined> {
  for (const image of record.images) {
    if (!image.listing) continue;
    const found = findFaketime(parseRootfsListing(await workspace.cas.readBytes(image.listing.digest)).map((r) => r.path));
    if (found) return found;
  }
  return undefined;
}

function verdictsOf(comparisons: readonly Comparison[]): ReproResult['verdicts'] {
  const images: Record<string, ReproVerdict> = {};
  const outputs: Record<string, ReproVerdict> = {};
  const cells: Record<string, ReproVerdict> = {};
  const worst = (map: Record<string, ReproVerdict>, key: string, ok: boolean) => {
    map[key] = map[key] === 'not-reproducible' || !ok ? 'not-reproducible' : 'reproducible';
  };
  for (const c of comparisons) {
    for (const i of c.images) worst(images, i.key, i.same);
    for (const o of c.outputs) worst(outputs, o.path, o.same);
    // outputs that are not files (a symlink, a directory only one side has) count too
    for (const e of c.outputDifferences) worst(outputs, e.path, false);
    for (const cell of c.cells) worst(cells, cell.cell, cell.same && c.steps.every((s) => s.cell !== cell.cell || s.differs.length === 0));
  }
  return { images, outputs, cells };
}

function comparisonJson(c: Comparison) {
  return {
    a: c.a,
    b: c.b,
    reproducible: c.reproducible,
    images: c.images.map(({ differences: _d, ...rest }) => rest),
    cells: c.cells,
    steps: c.steps.map((s) => ({ cell: s.cell, step: s.step, exitCodes: [s.a?.exitCode ?? null, s.b?.exitCode ?? null], differs: s.differs })),
    outputs: c.outputs,
    notes: c.notes,
    ...(c.diffoscope !== undefined ? { diffoscope: true } : {}),
  };
}

function renderReport(r: {
  reproId: string;
  loaded: LoadedSpec;
  strict: boolean;
  runs: ReproRun[];
  plan: DimensionPlan[];
  comparisons: Comparison[];
  reproducible: boolean;
  notBuilt: string[];
  workspace: Workspace;
  attribution: { experiments: ExperimentRun[]; paths: PathAttribution[] } | undefined;
}): string {
  const lines = [
    `airlock repro ${r.reproId}: ${r.reproducible ? 'REPRODUCIBLE' : 'NOT REPRODUCIBLE'}`,
    `spec  ${r.loaded.spec.name} (${relative(r.workspace.root, r.loaded.file) || r.loaded.file}, ${r.loaded.digest})`,
    `mode  ${r.strict ? 'strict: images by rootfs digest and mtimes, outputs by content and mode' : 'images by normalized rootfs digest, outputs bit for bit'}`,
    '',
    'runs',
    ...r.runs.map((x) => `  ${x.index}  ${x.runId}  ${x.verdict.padEnd(6)} ${x.startedAt} → ${x.finishedAt}`),
    '',
    'variations (run 1 | run 2 | …)',
    ...r.plan.map((d) => `  ${d.dimension.padEnd(9)} ${d.status.padEnd(14)} ${d.status === 'on' ? `${d.values.join(' | ')}  (${d.reason})` : d.reason}`),
    ...(r.notBuilt.length > 0 ? ['', `not built: ${r.notBuilt.join(', ')} (no environment with outputs runs in them)`] : []),
  ];
  for (const [i, c] of r.comparisons.entries()) lines.push('', renderComparison(c, { a: 'run 1', b: `run ${i + 2}` }).replace(/\n$/, ''));
  if (r.attribution) {
    lines.push('', ...r.attribution.experiments.map((x) => `run ${x.index}  ${x.runId}  experiment ${x.label}: ${x.differing} path${x.differing === 1 ? '' : 's'} differ from run 1`));
    lines.push('', renderAttribution(r.attribution.paths, r.attribution.experiments).replace(/\n$/, ''));
  }
  return `${lines.join('\n')}\n`;
}

interface SealInput {
  opts: ReproOptions;
  reproId: string;
  bundleDir: string;
  started: Date;
  records: RunRecord[];
  results: ReproRun[];
  plan: DimensionPlan[];
  comparisons: Comparison[];
  verdicts: ReproResult['verdicts'];
  reproducible: boolean;
  text: string;
  json: unknown;
  strict: boolean;
  attribution: Attribution | undefined;
}

/**
 * The signed repro bundle: a transcript of `repro` events (the spec, the variations,
 * each run and its bundle, each comparison, the verdict), every blob they name (run
 * envelopes and manifests, rootfs listings, outputs), and the reports as subjects.
 */
async function seal(s: SealInput): Promise<Record<string, BlobRef>> {
  const { opts, reproId } = s;
  const { cas } = opts.workspace;
  const partial = join(opts.workspace.proofsDir, `.${reproId}.partial`);
  const blobs: ManifestBlob[] = [];
  const keep = (ref: BlobRef, role: string, name: string): BlobRef => {
    blobs.push({ digest: ref.digest, size: ref.size, role, name });
    return { digest: ref.digest, size: ref.size };
  };
  try {
    const transcript = TranscriptWriter.open(join(partial, BUNDLE_FILES.transcript));
    const spec = keep(await cas.put(Buffer.from(s.opts.loaded.text, 'utf8')), 'spec', relative(opts.loaded.dir, opts.loaded.file));
    transcript.append('repro', { kind: 'spec', name: opts.loaded.spec.name, path: relative(opts.workspace.root, opts.loaded.file), spec, runs: s.results.length, strict: s.strict });
    transcript.append('repro', { kind: 'variations', dimensions: s.plan });
    const deps: ResourceDescriptor[] = [{ name: 'spec', digest: { sha256: digestHex(spec.digest) } }];
    // a run the repro made (compared or experiment): its envelope and manifest kept, the envelope pinned as a dependency
    const keepRun = async (run: ExperimentRun | ReproRun, annotations: Record<string, unknown> = {}) => {
      const envelope = keep(await cas.putFile(join(run.bundleDir, BUNDLE_FILES.envelope)), 'run-envelope', run.runId);
      const manifest = keep(await cas.putFile(join(run.bundleDir, BUNDLE_FILES.manifest)), 'run-manifest', run.runId);
      deps.push({ name: `run:${run.runId}`, digest: { sha256: digestHex(envelope.digest) }, annotations: { 'dev.airlock.repro-run': run.index, ...annotations } });
      const { index, runId, verdict, variation, startedAt, finishedAt } = run;
      return { index, runId, verdict, variation, startedAt, finishedAt, envelope, manifest };
    };
    for (const [i, run] of s.results.entries()) {
      const images = s.records[i]!.images.map((img) => ({
        key: img.key,
        imageId: img.imageId,
        rootfsDigest: img.rootfsDigest,
        ...(img.listing ? { listing: keep(img.listing, 'rootfs-listing', `run-${run.index}/${img.key}`) } : {}),
      }));
      transcript.append('repro', { kind: 'run', ...(await keepRun(run)), images });
    }
    for (const x of s.attribution?.experiments ?? []) {
      transcript.append('repro', { kind: 'experiment', ...(await keepRun(x, { 'dev.airlock.experiment': x.label })), label: x.label, differing: x.differing });
    }
    for (const [i, c] of s.comparisons.entries()) {
      const outputs = c.outputs.map((o) => ({
        path: o.path,
        same: o.same,
        a: o.a ? { ...keep(o.a, 'output', `run-1/${o.path}`), mode: o.a.mode } : null,
        b: o.b ? { ...keep(o.b, 'output', `run-${i + 2}/${o.path}`), mode: o.b.mode } : null,
      }));
      transcript.append('repro', {
        kind: 'comparison',
        runs: [1, i + 2],
        reproducible: c.reproducible,
        images: c.images.map((img) => ({ key: img.key, same: img.same, a: img.a?.rootfsDigest ?? null, b: img.b?.rootfsDigest ?? null, ...(img.strict ? { strict: img.strict } : {}), paths: img.differences.map((d) => d.path) })),
        cells: c.cells,
        steps: c.steps.filter((x) => x.differs.length > 0).map((x) => ({ cell: x.cell, step: x.step, differs: x.differs })),
        outputs,
        differences: reportEntries(c).map((e) => ({ scope: e.scope, path: e.path, differs: e.differs, cause: e.cause ?? null })),
      });
    }
    if (s.attribution) transcript.append('repro', { kind: 'attribution', paths: s.attribution.paths });
    const reportText = keep(await cas.put(Buffer.from(s.text, 'utf8')), 'report', 'repro/report.txt');
    const reportJson = keep(await cas.put(Buffer.from(`${JSON.stringify(s.json, null, 2)}\n`, 'utf8')), 'report', 'repro/report.json');
    const reports: Record<string, BlobRef> = { 'repro/report.txt': reportText, 'repro/report.json': reportJson };
    const diffoscope = s.comparisons.map((c) => c.diffoscope).filter((d): d is string => d !== undefined);
    if (diffoscope.length > 0) reports['repro/diffoscope.txt'] = keep(await cas.put(Buffer.from(diffoscope.join('\n'), 'utf8')), 'report', 'repro/diffoscope.txt');
    const verdict: ReproVerdict = s.reproducible ? 'reproducible' : 'not-reproducible';
    transcript.append('repro', { kind: 'verdict', verdict, images: s.verdicts.images, outputs: s.verdicts.outputs, cells: s.verdicts.cells, reports });
    transcript.close();

    await writeFile(join(partial, 'report.txt'), s.text);
    await writeFile(join(partial, 'report.json'), `${JSON.stringify(s.json, null, 2)}\n`);
    const finished = new Date();
    await sealBundle({
      bundleDir: partial,
      runId: reproId,
      transcriptPath: join(partial, BUNDLE_FILES.transcript),
      blobs,
      outputs: Object.entries(reports).map(([name, ref]) => ({ name, digest: ref.digest })),
      facts: {
        spec: { name: opts.loaded.spec.name, digest: opts.loaded.digest },
        environments: [],
        images: s.records.flatMap((r, i) => r.images.map((img) => ({ name: `run-${i + 1}/${img.key}`, imageId: img.imageId, rootfsDigest: img.rootfsDigest }))),
        builder: { id: BUILDER_ID, version: { airlock: AIRLOCK_VERSION, node: process.version } },
        resolvedDependencies: deps,
        internalParameters: { kind: 'repro', runs: s.results.length, strict: s.strict, variations: s.plan.map((d) => ({ dimension: d.dimension, status: d.status })) },
        byproducts: [
          {
            name: 'repro/verdict',
            uri: `airlock:repro/${reproId}`,
            annotations: { 'dev.airlock.verdict': verdict, 'dev.airlock.images': s.verdicts.images, 'dev.airlock.outputs': s.verdicts.outputs, 'dev.airlock.cells': s.verdicts.cells },
          },
        ],
      },
      startedOn: s.started,
      finishedOn: finished,
      key: opts.key,
      summary: [
        `airlock repro ${reproId}: ${verdict.toUpperCase()}`,
        `spec      ${opts.loaded.spec.name} (${opts.loaded.digest})`,
        ...s.results.map((r) => `run ${r.index}     ${r.runId} (${r.verdict})`),
        ...Object.entries(s.verdicts.images).map(([k, v]) => `image     ${k}: ${v}`),
        ...Object.entries(s.verdicts.outputs).map(([k, v]) => `output    ${k}: ${v}`),
        `report    report.txt (subject repro/report.txt)`,
        `signed by ${opts.key.keyid}`,
      ],
    });
    await rename(partial, s.bundleDir);
    return reports;
  } catch (e) {
    await rm(partial, { recursive: true, force: true });
    throw e;
  }
}
