import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Engine } from '../engine/engine.js';
import { AirlockError } from '../errors.js';
import { publicKeyFromPem, publicKeyToPem, type PublicKey, type SigningKey } from '../proof/keys.js';
import { INPUTS_LOCK_FILE, writeInputsLock, type InputsLock } from '../fetch/index.js';
import { BUNDLE_FILES } from '../proof/manifest.js';
import { parseTranscript } from '../proof/transcript.js';
import { eventsOf } from '../proof/transcript-events.js';
import { casReader } from '../proof/blob-reader.js';
import { readRunRecord } from '../proof/run-record.js';
import { compareRuns, diffoscopeOutputs, runFacts, type Comparison } from '../repro/compare-runs.js';
import { renderComparison, reportEntries, type ReportEntry } from '../repro/comparison-report.js';
import { dockerImageFiles } from '../repro/image-files.js';
import type { Reporter } from '../run/reporter.js';
import { runSpec, type RunResult } from '../run/run.js';
import { openWorkspace, type Workspace } from '../run/workspace.js';
import { digestHex } from '../util/digest.js';
import { verifyBundle } from '../verify/index.js';
import { checkBases, type BaseCheck } from './bases.js';
import { openVerifiedBundle, recordedInputs, type OpenedBundle, type RecordedInputs } from './bundle.js';
import { exportBundle } from './export.js';
import { reconstructWorkspace, type Reconstruction } from './reconstruct.js';

export interface ReplayOptions {
  /** the bundle to replay: proofs/<run-id>/ or an exported copy */
  bundleDir: string;
  /** keys the bundle must be signed by */
  trustedKeys: readonly PublicKey[];
  /** CAS roots to find the bundle's blobs in, after its own blobs/ */
  blobDirs: readonly string[];
  /** where the replay's own bundle is kept (copied with its blobs: the replay's workspace is temporary) */
  workspace: Workspace;
  engine: Engine;
  key: SigningKey;
  reporter: Reporter;
  signal: AbortSignal;
  /** use the engine's layer cache (faster, less faithful). Default false: everything is rebuilt. */
  cache?: boolean;
  /** keep the temporary workspace (its path is in the result). Default false. */
  keep?: boolean;
  /** where the temporary workspace is made. Default the OS temp dir. */
  tmpDir?: string;
  /** attach diffoscope's report when it is installed. Default true. */
  diffoscope?: boolean;
}

export interface InputCheck {
  what: 'spec' | 'dockerfile' | 'context' | 'golden';
  path: string;
  original: string;
  replay: string | null;
  same: boolean;
}

export interface ReplayResult {
  verdict: 'reproduced' | 'differs';
  exitCode: 0 | 1;
  original: { runId: string; bundleDir: string; keyid: string; envelopeDigest: string };
  replay: { runId: string; bundleDir: string; verdict: RunResult['verdict']; verified: boolean; problem?: string };
  /** where the run was reconstructed (removed afterwards unless `keep`) */
  workspaceRoot: string;
  kept: boolean;
  environments: string[];
  bases: BaseCheck[];
  /** the replay's recorded inputs against the original's: the reconstruction was exact when all are the same */
  inputs: InputCheck[];
  reconstruction: { restored: Reconstruction['restored']; notes: string[] };
  comparison: Comparison;
  entries: ReportEntry[];
  report: string;
  timings: { totalMs: number; verifyMs: number; runMs: number; compareMs: number };
}

/**
 * `airlock replay`: verifies a bundle (refusing one that does not verify), rebuilds
 * the run from what it recorded alone — spec, Dockerfiles, build contexts, golden
 * files, locks — in a fresh workspace at another path (nothing of the original CAS
 * is reused), checks the base images against the recorded ones, runs it with
 * `replayOf` (so the replay's bundle names the original), and compares exit codes,
 * stdout/stderr and outputs with the signed ones.
 */
export async function replayBundle(opts: ReplayOptions): Promise<ReplayResult> {
  const t0 = performance.now();
  const original = await openVerifiedBundle(opts.bundleDir, opts.trustedKeys, opts.blobDirs);
  const verifyMs = performance.now() - t0;
  opts.reporter.event({ type: 'replay-verified', runId: original.runId, keyid: original.verification.keyid });
  opts.reporter.info(`airlock: replay of ${original.runId} (verified, signed by ${original.verification.keyid.slice(0, 16)})`);

  const base = await realpath(await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'airlock-replay-')));
  try {
    const rec = await reconstructWorkspace(original.inputs, original.blobs, base);
    const ws = await openWorkspace(rec.root);
    let rerun: Rerun;
    try {
      rerun = await rerunAndCompare(original, rec, ws, opts);
    } finally {
      ws.close();
    }
    const { result, comparison } = rerun;
    const selfKey = publicKeyFromPem(publicKeyToPem(opts.key));
    let problem: string | undefined;
    try {
      await verifyBundle({ bundleDir: rerun.keptBundle, trustedKeys: [...opts.trustedKeys, selfKey], blobDirs: [] });
    } catch (e) {
      problem = e instanceof AirlockError ? `[${e.code}] ${e.message}` : String(e);
    }
    const out: ReplayResult = {
      verdict: comparison.reproducible ? 'reproduced' : 'differs',
      exitCode: comparison.reproducible ? 0 : 1,
      original: { runId: original.runId, bundleDir: original.bundleDir, keyid: original.verification.keyid, envelopeDigest: original.envelopeDigest },
      replay: { runId: result.runId, bundleDir: rerun.keptBundle, verdict: result.verdict, verified: problem === undefined, ...(problem ? { problem } : {}) },
      workspaceRoot: rec.root,
      kept: opts.keep === true,
      environments: rerun.environments,
      bases: rerun.bases,
      inputs: rerun.inputs,
      reconstruction: { restored: rec.restored, notes: rec.notes },
      comparison,
      entries: reportEntries(comparison),
      report: '',
      timings: { totalMs: 0, verifyMs: Math.round(verifyMs), runMs: rerun.runMs, compareMs: rerun.compareMs },
    };
    out.report = renderReplay(out, original);
    const { comparison: _c, report: _r, ...facts } = out;
    await writeFile(join(rerun.keptBundle, 'replay-report.txt'), out.report);
    await writeFile(join(rerun.keptBundle, 'replay-report.json'), `${JSON.stringify({ ...facts, comparison: { ...comparison, diffoscope: undefined } }, null, 2)}\n`);
    out.timings.totalMs = Math.round(performance.now() - t0);
    return out;
  } finally {
    if (opts.keep !== true) await rm(base, { recursive: true, force: true });
  }
}

interface Rerun {
  result: RunResult;
  environments: string[];
  bases: BaseCheck[];
  comparison: Comparison;
  inputs: InputCheck[];
  /** the replay's bundle, copied with its blobs into the caller's proofs/ */
  keptBundle: string;
  runMs: number;
  compareMs: number;
}

/** Runs the reconstructed spec in its fresh workspace, compares it with the original, and keeps its bundle. */
async function rerunAndCompare(original: OpenedBundle, rec: Reconstruction, ws: Workspace, opts: ReplayOptions): Promise<Rerun> {
  const environments = original.statement.predicate.buildDefinition.externalParameters.environments;
  await seedInputs(original, ws);
  const bases = await checkBases(opts.engine, original.inputs.bases);
  for (const b of bases) {
    opts.reporter.event({ type: 'replay-base', ...b });
    if (b.status !== 'match') opts.reporter.info(`  ${b.message}`);
  }
  opts.reporter.info(`  workspace ${rec.root} (${rec.restored.length} files and trees restored)`);
  const tRun = performance.now();
  const result = await runSpec({
    loaded: rec.loaded,
    environments,
    workspace: ws,
    engine: opts.engine,
    key: opts.key,
    reporter: opts.reporter,
    signal: opts.signal,
    noCache: opts.cache !== true,
    // every input comes from the bundle: a replay never downloads
    fetch: { offline: true },
    replayOf: { runId: original.runId, bundleDir: original.bundleDir, envelopeDigest: original.envelopeDigest },
  });
  const runMs = Math.round(performance.now() - tRun);
  if (result.verdict === 'interrupted') throw result.error ?? new AirlockError('INTERRUPTED', 'interrupted');

  const tCompare = performance.now();
  const replayed = await readRunRecord(result.bundleDir);
  const blobs = { a: original.blobs, b: casReader(ws.cas) };
  const comparison = await compareRuns(original.record, replayed, {
    blobs,
    ctx: { runs: [runFacts(original.record, originalRoot(original.bundleDir)), runFacts(replayed, rec.root)] },
    logs: true,
    imageFiles: dockerImageFiles(opts.engine, result.runId),
  });
  if (!comparison.reproducible && opts.diffoscope !== false) {
    const d = await diffoscopeOutputs(comparison, blobs);
    if (d) comparison.diffoscope = d;
  }
  const replayInputs = recordedInputs(parseTranscript(await readFile(join(result.bundleDir, BUNDLE_FILES.transcript), 'utf8')), result.bundleDir);
  const inputs = compareInputs(original.inputs, replayInputs);
  const compareMs = Math.round(performance.now() - tCompare);

  // The temporary workspace goes away: keep the replay's bundle, with its blobs, in the caller's proofs/.
  const keptBundle = join(opts.workspace.proofsDir, basename(result.bundleDir));
  await exportBundle({ bundleDir: result.bundleDir, outDir: keptBundle, blobDirs: [ws.artifactsDir] });
  return { result, environments, bases, comparison, inputs, keptBundle, runMs, compareMs };
}

/**
 * The inputs the run fetched, into the new CAS from the bundle's own blobs, pinned in the
 * new workspace's lock by what the `fetch` event recorded: the replay's fetch phase then
 * finds them all offline.
 */
async function seedInputs(original: OpenedBundle, ws: Workspace): Promise<void> {
  const fetched = eventsOf(original.events, 'fetch').flatMap((e) => e.data.inputs);
  if (fetched.length === 0) return;
  const lock: InputsLock = { lockVersion: 1, inputs: {} };
  for (const f of fetched) {
    await ws.cas.put(await original.blobs.read(f.digest), { expectedDigest: f.digest });
    lock.inputs[f.name] = { url: f.url, sha256: digestHex(f.digest), size: f.size };
  }
  await writeInputsLock(join(ws.locksDir, INPUTS_LOCK_FILE), lock);
}

/** The original workspace root, when the bundle still sits in its proofs/ (for the build-path cause). */
function originalRoot(bundleDir: string): string {
  const parent = dirname(bundleDir);
  return basename(parent) === 'proofs' ? dirname(parent) : '';
}

function compareInputs(a: RecordedInputs, b: RecordedInputs): InputCheck[] {
  const out: InputCheck[] = [{ what: 'spec', path: a.spec.path, original: a.spec.digest, replay: b.spec.digest, same: a.spec.digest === b.spec.digest }];
  const pair = <T extends { digest: string }>(what: InputCheck['what'], xs: T[], ys: T[], key: (x: T) => string) => {
    for (const x of xs) {
      const y = ys.find((v) => key(v) === key(x));
      out.push({ what, path: key(x), original: x.digest, replay: y?.digest ?? null, same: y?.digest === x.digest });
    }
  };
  pair('dockerfile', a.dockerfiles, b.dockerfiles, (x) => x.path);
  pair('context', a.contexts, b.contexts, (x) => x.dir);
  pair('golden', a.goldens, b.goldens, (x) => x.path);
  return out;
}

function renderReplay(r: ReplayResult, original: OpenedBundle): string {
  const lines = [
    `airlock replay of ${r.original.runId}: ${r.verdict.toUpperCase()}`,
    `original  ${r.original.bundleDir} (verified, signed by ${r.original.keyid}, envelope ${r.original.envelopeDigest})`,
    `replay    ${r.replay.runId} → ${r.replay.bundleDir} (${r.replay.verdict}${r.replay.verified ? ', verified' : `, NOT verified: ${r.replay.problem}`})`,
    `rebuilt   in ${r.workspaceRoot}${r.kept ? ' (kept)' : ' (removed)'}, environments ${r.environments.join(', ')}`,
    '',
    'bases',
    ...(r.bases.length === 0 ? ['  (none recorded)'] : r.bases.map((b) => `  ${b.status === 'match' ? 'same    ' : 'DIFFERS '} ${b.message}`)),
    'inputs (as the replay recorded them)',
    ...r.inputs.map((i) => `  ${i.same ? 'same    ' : 'DIFFERS '} ${i.what} ${i.path}  ${i.original.slice(0, 19)}${i.same ? '' : ` vs ${i.replay?.slice(0, 19) ?? 'absent'}`}`),
    ...r.reconstruction.notes.map((n) => `note: ${n}`),
    '',
    renderComparison(r.comparison, { a: `original ${original.runId}`, b: `replay ${r.replay.runId}` }).replace(/\n$/, ''),
  ];
  return `${lines.join('\n')}\n`;
}
