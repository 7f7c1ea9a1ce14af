import { newRunId } from '../util/run-id.js';
import { rename, rm, stat } from 'node:fs/promises';
import { arch, cpus, platform, release } from 'node:os';
import { join, relative } from 'node:path';
import type { Engine } from '../engine/engine.js';
import PQueue from 'p-queue';
import { writeContextTar } from '../archive/context.js';
import { builtinBases, findBase, specBases, type BaseRecipe } from '../base/catalog.js';
import { ensureBases, lockedHelper, LockFiles } from '../base/ensure.js';
import { BASE_LOCK_FILE } from '../base/lock.js';
import { baseSbom } from '../base/sbom.js';
import { canonicalBytes } from '../proof/canonical-json.js';
import type { ActionCache } from '../cache/action-cache.js';
import { LEASE_RENEW_MS } from '../store/ledger.js';
import { INPUTS_LOCK_FILE, readInputsLock } from '../fetch/lock.js';
import { displayUrl } from '../fetch/url.js';
import { engineInfo, isNotFound, type EngineInfo } from '../engine/client.js';
import { removeRunResources } from '../engine/cleanup.js';
import { LABEL_ROOTFS } from '../engine/labels.js';
import { runtimeFor, type RuntimeInfo } from '../engine/runtime.js';
import type { Variation } from '../engine/variation.js';
import { AirlockError, EXIT, toAirlockError, type ExitCode } from '../errors.js';
import type { SigningKey } from '../proof/keys.js';
import type { ManifestBlob } from '../proof/manifest.js';
import { sealBundle } from '../proof/seal.js';
import type { ResourceDescriptor, Verdict } from '../proof/statement.js';
import { TranscriptWriter } from '../proof/transcript.js';
import { planRun, type ImageVariant, type Plan, type PlannedCell } from '../plan/plan.js';
import type { Isolation, LoadedSpec } from '../spec/types.js';
import { digestHex, type Digest } from '../util/digest.js';
import { AIRLOCK_VERSION, BUILDER_ID } from '../version.js';
import { Builder, contextKey, type BuiltImage, type ContextTar } from './builds.js';
import { runCell, type CellContext, type CellOutcome } from './cell.js';
import type { ResolvedService } from './cell-run.js';
import { multiEngine, singleEngine, isNodeLost, type Cluster } from '../scale/cluster.js';
import type { RunNode, UnreachableNode } from '../scale/nodes.js';
import type { Reporter } from './reporter.js';
import type { Workspace } from './workspace.js';

export interface RunOptions {
  loaded: LoadedSpec;
  /** environments to run (default: all) */
  environments?: string[];
  /** only the matrix cells matching this selection */
  cells?: Record<string, string>;
  workspace: Workspace;
  /** the engine images are built on (and every cell runs on, without `nodes`) */
  engine: Engine;
  /** that engine as already asked (a caller that checks it is there before a run starts) */
  engineInfo?: EngineInfo;
  key: SigningKey;
  reporter: Reporter;
  signal: AbortSignal;
  /** build without the engine's layer cache and run every cell (the action cache is refreshed, not read) */
  noCache?: boolean;
  /** run every cell even when the action cache has its result (builds may still be reused) */
  runAllCells?: boolean;
  /** cells at once (default: the matrix's maxParallel, else the number of CPUs) */
  maxParallel?: number;
  /** default: the ledger-backed action cache of the workspace */
  cache?: ActionCache;
  /** what `airlock repro` varies in every cell of this run */
  variation?: Variation;
  /** the fetch phase: refuse unpinned inputs (frozen), or use only the CAS (offline) */
  fetch?: { frozen?: boolean; offline?: boolean };
  /**
   * Engines to place cells on (AIRLOCK_ENGINES or the user config, connected): images are still
   * built on `docker` and shipped to the node of each cell. Absent: every cell runs on `docker`.
   */
  nodes?: { nodes: RunNode[]; unreachable: UnreachableNode[] };
  /** this run replays a sealed bundle: recorded in the inputs and as a resolved dependency */
  replayOf?: { runId: string; bundleDir: string; envelopeDigest: Digest };
}

export type RunVerdict = 'passed' | 'failed' | 'error' | 'interrupted';

export interface RunResult {
  runId: string;
  bundleDir: string;
  verdict: RunVerdict;
  exitCode: ExitCode;
  images: BuiltImage[];
  cells: CellOutcome[];
  /** the error that ended the run early, or the first cell error */
  error?: AirlockError;
  durationMs: number;
  startedAt: Date;
}


/** Mutable state of one run, shared by its phases. */
interface RunState {
  runId: string;
  transcript: TranscriptWriter;
  blobs: ManifestBlob[];
  outcomes: CellOutcome[];
  deps: ResourceDescriptor[];
  /** build contexts by `<context dir>\0<dockerfile>`, their tars kept in the CAS */
  contexts: Map<string, ContextTar>;
  /** the SPDX documents of the locked bases the run's images are built on: signed subjects */
  sboms: { name: string; digest: Digest }[];
}

/** The subject name of a base's SBOM. */
export const sbomName = (ref: string): string => `sbom/${ref}.spdx.json`;

const descriptor = (name: string, digest: Digest, annotations?: Record<string, unknown>): ResourceDescriptor => ({
  name,
  digest: { sha256: digestHex(digest) },
  ...(annotations ? { annotations } : {}),
});

/**
 * One run of a spec: check the engine, record the inputs, then run every cell
 * (each environment, each matrix combination) in parallel up to maxParallel,
 * building each image variant once, replaying cached cells, and sealing the
 * transcript into a signed bundle. Whatever happens (failure, error,
 * interruption) the run's containers are removed and the bundle is sealed with
 * the verdict reached.
 */
export async function runSpec(opts: RunOptions): Promise<RunResult> {
  const { workspace, engine, reporter, loaded, signal } = opts;
  const started = new Date();
  const runId = newRunId(started);
  const partialDir = join(workspace.proofsDir, `.${runId}.partial`);
  const bundleDir = join(workspace.proofsDir, runId);
  const state: RunState = {
    runId,
    transcript: TranscriptWriter.open(join(partialDir, 'transcript.jsonl')),
    blobs: [],
    outcomes: [],
    deps: [],
    contexts: new Map(),
    sboms: [],
  };
  const addBlob = (b: ManifestBlob) => state.blobs.push(b);
  workspace.ledger.startRun({ id: runId, specName: loaded.spec.name, specDigest: loaded.digest, bundleDir, startedAt: started });
  // the lease that tells `airlock gc` (on any host sharing this workspace) the run is alive
  const lease = setInterval(() => {
    try {
      workspace.ledger.renewLease(runId);
    } catch {
      // a busy ledger misses one beat; the lease outlives several
    }
  }, LEASE_RENEW_MS);
  lease.unref();
  reporter.event({ type: 'run-started', runId, spec: relative(process.cwd(), loaded.file) || loaded.file });

  let error: AirlockError | undefined;
  let info: EngineInfo | undefined;
  let builder: Builder | undefined;
  let plan: Plan | undefined;
  const cluster = opts.nodes
    ? multiEngine(opts.nodes.nodes, {
        source: engine,
        runId,
        onShipped: (shipped) => {
          state.transcript.append('ship', shipped);
          reporter.event({ type: 'image-shipped', ...shipped });
        },
      })
    : singleEngine(engine, cpus().length);
  try {
    info = opts.engineInfo ?? (await engineInfo(engine));
    plan = await planRun(loaded, { ...(opts.environments ? { environments: opts.environments } : {}), ...(opts.cells ? { cells: opts.cells } : {}) });
    const helper = await recordEnvironment(opts, state, info);
    const inputs = await fetchPhase(opts, state);
    const baseIds = await recordInputs(opts, state, plan.variants, inputs);
    builder = new Builder(
      { engine, workspace, transcript: state.transcript, reporter, runId, specName: loaded.spec.name, contexts: state.contexts, baseIds, addBlob, noCache: opts.noCache ?? false, signal, concurrency: 2 },
      plan.variants,
    );
    await runCells(opts, state, plan, {
      engine,
      cas: workspace.cas,
      ledger: workspace.ledger,
      transcript: state.transcript,
      reporter,
      runId,
      helper,
      addBlob,
      signal,
      builder,
      cache: opts.cache ?? workspace.actionCache(opts.key),
      noCache: (opts.noCache ?? false) || (opts.runAllCells ?? false),
      bundleDir,
      specDir: loaded.dir,
      ...(opts.variation ? { variation: opts.variation } : {}),
    }, cluster);
  } catch (e) {
    error = signal.aborted ? new AirlockError('INTERRUPTED', 'interrupted by signal', { cause: e }) : toAirlockError(e);
    state.transcript.append('run', { error: error.toJSON() });
  } finally {
    // Runs before sealing, so the bundle can say the cells are gone (on every node: a lost one says why not).
    const sweep = (engine: Engine) => removeRunResources(engine, runId).catch((e: unknown) => ({ error: String(e) }));
    const removed = opts.nodes
      ? Object.fromEntries(await Promise.all(cluster.engines.map(async (e) => [e.name, await sweep(e)] as const)))
      : await sweep(engine);
    state.transcript.append('teardown', { run: runId, removed });
  }

  const cellError = state.outcomes.find((o) => o.status === 'error')?.error;
  error ??= cellError;
  const verdict: RunVerdict = error?.code === 'INTERRUPTED' ? 'interrupted' : error ? 'error' : state.outcomes.some((o) => o.status === 'failed') ? 'failed' : 'passed';
  const finished = new Date();
  const exitCode: ExitCode = error ? error.exitCode : verdict === 'failed' ? EXIT.FAILED : EXIT.OK;
  state.transcript.append('run', {
    verdict,
    exitCode,
    durationMs: finished.getTime() - started.getTime(),
    cells: state.outcomes.map((o) => ({ cell: o.id, status: o.status })),
  });
  state.transcript.close();
  const images = builder?.built ?? [];
  try {
    await seal(opts, state, { started, finished, verdict, engine: info, partialDir, images });
    await rename(partialDir, bundleDir);
    reporter.event({ type: 'sealed', runId, bundleDir, keyid: opts.key.keyid });
  } catch (e) {
    await rm(partialDir, { recursive: true, force: true });
    clearInterval(lease);
    workspace.ledger.finishRun(runId, { status: 'error', exitCode: EXIT.INTERNAL, bundleDir: null });
    throw e;
  }
  // The ledger knows every blob a bundle depends on, and which run first stored it.
  for (const b of state.blobs) workspace.ledger.recordBlob({ digest: b.digest, size: b.size, firstSeenRun: runId, role: b.role });
  clearInterval(lease);
  workspace.ledger.finishRun(runId, { status: verdict, exitCode, bundleDir });
  const order = new Map(plan?.cells.map((c, i) => [c.id, i]));
  return {
    runId,
    bundleDir,
    verdict,
    exitCode,
    images,
    cells: [...state.outcomes].sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0)),
    ...(error ? { error } : {}),
    durationMs: finished.getTime() - started.getTime(),
    startedAt: started,
  };
}

/**
 * Schedules the cells: at most maxParallel at once; with failFast a failing
 * cell cancels the queued ones and stops the running ones (their containers
 * removed like any other); a per-cell timeout stops a cell that runs too long.
 */
async function runCells(opts: RunOptions, state: RunState, plan: Plan, ctx: Omit<CellContext, 'place'>, cluster: Cluster): Promise<void> {
  const maxParallel = opts.maxParallel ?? plan.matrix?.maxParallel ?? cluster.parallel;
  const failFast = plan.matrix?.failFast ?? false;
  const cancel = new AbortController();
  const queue = new PQueue({ concurrency: maxParallel });
  // each engine is asked once per isolation for its runtime
  const runtimes = new Map<string, Promise<RuntimeInfo | undefined>>();
  const runtime = (engine: Engine, iso: Isolation) => {
    const key = `${engine.endpoint}\0${iso}`;
    if (!runtimes.has(key)) runtimes.set(key, runtimeFor(engine, iso));
    return runtimes.get(key)!;
  };
  let interrupted: AirlockError | undefined;

  /** One cell, placed on a node; an attempt whose node was lost is tried once more on another. */
  const placed = async (cell: PlannedCell, signal: AbortSignal): Promise<CellOutcome> => {
    const lostOn = new Set<string>();
    for (;;) {
      const { node, release } = await cluster.place(cell, { exclude: lostOn, signal });
      try {
        if (node.name) opts.reporter.event({ type: 'cell-placed', cell: cell.id, node: node.name });
        const rt = await runtime(node.engine, cell.spec.isolation);
        const cellCtx: CellContext = { ...ctx, engine: node.engine, place: node, signal, ...(node.name ? { node: node.name } : {}), ...(rt ? { runtime: rt } : {}) };
        return await runCell(cellCtx, cell, (c) => resolveServices(opts, cellCtx, c));
      } catch (e) {
        const err = toAirlockError(e);
        if (!node.name || !isNodeLost(err) || lostOn.size > 0 || signal.aborted) throw err;
        cluster.markLost(node.name);
        lostOn.add(node.name);
        const reason = `engine ${node.name} stopped answering`;
        state.transcript.append('cell', { cell: cell.id, state: 'retried', node: node.name, reason, error: err.toJSON() });
        opts.reporter.event({ type: 'cell-retried', cell: cell.id, node: node.name, reason });
      } finally {
        release();
      }
    }
  };

  for (const cell of plan.cells) {
    opts.reporter.event({ type: 'cell-queued', cell: cell.id });
    queue
      .add(async () => {
        // Interrupted: queued cells never start (the run is being torn down).
        if (opts.signal.aborted) return;
        if (cancel.signal.aborted) {
          state.outcomes.push(skipped(state, cell, 'cancelled: an earlier cell failed (failFast)'));
          return;
        }
        const limits = [opts.signal, cancel.signal, ...(plan.matrix?.cellTimeoutMs ? [AbortSignal.timeout(plan.matrix.cellTimeoutMs)] : [])];
        const signal = AbortSignal.any(limits);
        try {
          const outcome = await placed(cell, signal);
          state.outcomes.push(outcome);
          if (failFast && (outcome.status === 'failed' || outcome.status === 'error')) {
            cancel.abort(new AirlockError('INTERRUPTED', `failFast: cell ${cell.id} ${outcome.status}`));
          }
        } catch (e) {
          const err = toAirlockError(e);
          if (opts.signal.aborted) {
            interrupted ??= err;
            return;
          }
          // Stopped by failFast or its own timeout: the cell's containers are gone, the rest goes on.
          // Lost twice, or unplaceable: the cell is in error with the reason.
          const reason = cancel.signal.aborted ? 'cancelled: stopped by failFast' : signal.aborted ? `cell timeout (${plan.matrix?.cellTimeoutMs} ms) exceeded` : undefined;
          if (cancel.signal.aborted) {
            state.outcomes.push(skipped(state, cell, reason!));
            return;
          }
          const error = reason ? new AirlockError('STEP_FAILED', `${cell.id}: ${reason}`) : err;
          if (!reason) state.transcript.append('cell', { cell: cell.id, state: 'finished', status: 'error', error: error.toJSON() });
          state.outcomes.push({ id: cell.id, env: cell.env, ...(cell.matrix ? { matrix: cell.matrix } : {}), status: 'error', steps: [], outputs: [], durationMs: 0, error });
        }
      })
      .catch(() => undefined);
  }
  await queue.onIdle();
  if (interrupted || opts.signal.aborted) throw interrupted ?? new AirlockError('INTERRUPTED', 'interrupted by signal');
}

function skipped(state: RunState, cell: PlannedCell, reason: string): CellOutcome {
  state.transcript.append('cell', { cell: cell.id, state: 'finished', status: 'skipped', reason });
  return { id: cell.id, env: cell.env, ...(cell.matrix ? { matrix: cell.matrix } : {}), status: 'skipped', steps: [], outputs: [], durationMs: 0 };
}

/** A cell's services with their images resolved: spec images are built (shared), others must be local. */
async function resolveServices(opts: RunOptions, ctx: CellContext, cell: PlannedCell): Promise<ResolvedService[]> {
  return Promise.all(
    cell.spec.services.map(async (svc) => {
      const variant = cell.serviceImages?.[svc.name];
      if (variant) {
        const built = await ctx.builder.image(variant);
        return { ...svc, imageRef: built.imageId, rootfsDigest: built.rootfsDigest };
      }
      const inspected = await opts.engine.images
        .inspect(svc.image)
        .catch((e: unknown) => {
          if (isNotFound(e)) throw new AirlockError('BASE_IMAGE_MISSING', `service ${svc.name}: image ${svc.image} is not in the engine and nothing can be pulled here; build it locally or name one of the spec's images`);
          throw e;
        });
      const rootfsDigest = inspected.Config?.Labels?.[LABEL_ROOTFS];
      return { ...svc, imageRef: inspected.Id, ...(rootfsDigest ? { rootfsDigest } : {}) };
    }),
  );
}

/** The `environment` phase: engine, host, airlock, and the helper every cell mounts (the locked busybox). */
async function recordEnvironment(opts: RunOptions, state: RunState, engine: EngineInfo): Promise<string> {
  const helper = await lockedHelper(opts.workspace.cas, { ...(opts.fetch?.offline ? { offline: true } : {}), signal: opts.signal });
  const ref = await opts.workspace.cas.putFile(helper.path);
  state.blobs.push({ ...ref, role: 'helper', name: 'busybox' });
  state.transcript.append('environment', {
    engine,
    host: { platform: platform(), release: release(), arch: arch(), cpus: cpus().length, node: process.version },
    airlock: { version: AIRLOCK_VERSION },
    helper: { path: helper.path, package: `${helper.deb.name} ${helper.deb.version}`, deb: `sha256:${helper.deb.sha256}`, digest: ref.digest, size: ref.size },
    ...(opts.nodes ? { nodes: opts.nodes.nodes.map((n) => n.facts) } : {}),
    ...(opts.nodes?.unreachable.length ? { unreachable: opts.nodes.unreachable.map((u) => ({ name: u.name, endpoint: u.endpoint, error: u.error.toJSON() })) } : {}),
    ...(opts.variation ? { variation: opts.variation } : {}),
  });
  return helper.path;
}

/**
 * The `fetch` phase, the only network access of a run: inputs pinned by sha256
 * (in the spec or locks/inputs.lock.json) are fetched into the CAS (or found
 * there), to be placed into every build context at `.airlock/inputs/<name>`.
 */
async function fetchPhase(opts: RunOptions, state: RunState): Promise<{ path: string; source: string }[]> {
  const declared = opts.loaded.spec.inputs;
  if (declared.length === 0) return [];
  const { cas, locksDir } = opts.workspace;
  // undici loads only for a spec with inputs: the common run never pays for it
  const { fetchInputs } = await import('../fetch/fetch.js');
  const fetched = await fetchInputs(declared, {
    cas,
    lock: await readInputsLock(join(locksDir, INPUTS_LOCK_FILE)),
    frozen: opts.fetch?.frozen ?? false,
    offline: opts.fetch?.offline ?? false,
    signal: opts.signal,
    onProgress: (e) => opts.reporter.event({ ...e, type: `fetch-${e.kind}` }),
  });
  for (const f of fetched) {
    state.blobs.push({ digest: f.digest, size: f.size, role: 'input', name: f.name });
    state.deps.push({ name: `input:${f.name}`, uri: displayUrl(f.url), digest: { sha256: digestHex(f.digest) } });
  }
  state.transcript.append('fetch', {
    inputs: fetched.map((f) => ({ name: f.name, url: displayUrl(f.url), finalUrl: f.finalUrl, digest: f.digest, size: f.size, source: f.source, attempts: f.attempts })),
  });
  return fetched.map((f) => ({ path: `.airlock/inputs/${f.name}`, source: cas.pathOf(f.digest) }));
}

/**
 * The `inputs` phase: every byte that can change the result, by digest, kept in
 * the CAS. Returns the engine's image id of each base image, as inspected here.
 */
async function recordInputs(opts: RunOptions, state: RunState, variants: ImageVariant[], extra: { path: string; source: string }[]): Promise<Map<string, string>> {
  const { cas } = opts.workspace;
  const { engine, loaded } = opts;
  const spec = await cas.put(Buffer.from(loaded.text, 'utf8'));
  state.blobs.push({ ...spec, role: 'spec', name: relative(loaded.dir, loaded.file) });
  state.deps.push(descriptor('spec', spec.digest));

  const dockerfiles = new Map<string, { digest: Digest; size: number }>();
  const contexts = state.contexts;
  for (const image of variants) {
    if (!dockerfiles.has(image.dockerfilePath)) {
      const ref = await cas.putFile(image.dockerfilePath);
      dockerfiles.set(image.dockerfilePath, ref);
      const name = relative(loaded.dir, image.dockerfilePath);
      state.blobs.push({ ...ref, role: 'dockerfile', name });
      state.deps.push(descriptor(`dockerfile:${name}`, ref.digest));
    }
    const key = contextKey(image);
    if (!contexts.has(key)) {
      const tarPath = cas.tempPath(`context-${state.runId}-${contexts.size}.tar`);
      const tar = await writeContextTar(image.contextDir, tarPath, { dockerfile: image.dockerfilePath, extra, exclude: [opts.workspace.artifactsDir, opts.workspace.proofsDir] });
      const ref = await cas.putFile(tarPath);
      await rm(tarPath, { force: true });
      contexts.set(key, { ...ref, entries: tar.entries, dockerfileName: tar.dockerfileName, tarPath: cas.pathOf(ref.digest) });
      const name = relative(loaded.dir, image.contextDir) || '.';
      state.blobs.push({ ...ref, role: 'context', name });
      state.deps.push(descriptor(`context:${name}`, ref.digest));
    }
  }

  // Bases are made from their locks before anything inspects them: an image missing or
  // not matching its lock is built from the locked .debs (never re-resolved).
  const recipes: BaseRecipe[] = [...builtinBases(), ...specBases(loaded.spec, loaded.dir)];
  const refs = [...new Set(variants.flatMap((i) => i.bases))].sort();
  const used = refs.map((ref) => findBase(recipes, ref)).filter((r): r is BaseRecipe => r !== undefined);
  if (used.length > 0) {
    await ensureBases(engine, {
      cas,
      recipes: used,
      ...(opts.fetch?.offline ? { offline: true } : {}),
      signal: opts.signal,
      onProgress: (message) => opts.reporter.event({ type: 'base-progress', message }),
    });
  }
  const lockFiles = new LockFiles();
  const bases: { ref: string; imageId: string; rootfsDigest: Digest | null; sbom?: { digest: Digest; size: number } }[] = [];
  for (const ref of refs) {
    let inspected;
    try {
      inspected = await engine.images.inspect(ref);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      throw new AirlockError(
        'BASE_IMAGE_MISSING',
        `image ${ref} is not in the engine and nothing can be pulled here; build it locally, use an airlock base (${builtinBases().map((b) => b.ref).join(', ')}) or declare one under \`bases:\``,
        { details: { ref } },
      );
    }
    const rootfsDigest = (inspected.Config?.Labels?.[LABEL_ROOTFS] ?? null) as Digest | null;
    // A base made from a lock carries its SBOM (derived from the lock) as a signed subject.
    const recipe = findBase(used, ref);
    let sbom: { digest: Digest; size: number } | undefined;
    if (recipe) {
      const blob = await cas.put(canonicalBytes(baseSbom(recipe.ref, await lockFiles.entry(recipe))));
      sbom = { digest: blob.digest, size: blob.size };
      state.blobs.push({ ...blob, role: 'sbom', name: sbomName(recipe.ref) });
      state.sboms.push({ name: sbomName(recipe.ref), digest: blob.digest });
    }
    bases.push({ ref, imageId: inspected.Id, rootfsDigest, ...(sbom ? { sbom } : {}) });
    state.deps.push(rootfsDigest ? descriptor(`base:${ref}`, rootfsDigest) : { name: `base:${ref}`, uri: `docker-image-id:${inspected.Id}` });
  }

  // Golden files decide verdicts: they are inputs, kept so a replay elsewhere can judge the same way.
  const goldens = new Map<string, { digest: Digest; size: number }>();
  for (const env of Object.values(loaded.spec.environments)) {
    for (const step of env.steps) {
      for (const m of [step.expect.stdout, step.expect.stderr]) {
        if (!m || !('file' in m) || goldens.has(m.file)) continue;
        const ref = await cas.putFile(m.file);
        goldens.set(m.file, ref);
        state.blobs.push({ ...ref, role: 'golden', name: relative(loaded.dir, m.file) });
      }
    }
  }

  const locks: { path: string; digest: Digest; size: number }[] = [];
  for (const file of [BASE_LOCK_FILE, INPUTS_LOCK_FILE]) {
    const lockPath = join(opts.workspace.locksDir, file);
    if (!(await stat(lockPath).then(() => true, () => false))) continue;
    const ref = await cas.putFile(lockPath);
    locks.push({ path: `locks/${file}`, ...ref });
    state.blobs.push({ ...ref, role: 'lock', name: `locks/${file}` });
  }

  state.transcript.append('inputs', {
    spec: { path: relative(opts.workspace.root, loaded.file), ...spec },
    dockerfiles: [...dockerfiles].map(([path, ref]) => ({ path: relative(opts.workspace.root, path), ...ref })),
    contexts: [...contexts].map(([key, c]) => ({ dir: relative(opts.workspace.root, key.split('\0')[0]!) || '.', digest: c.digest, size: c.size, entries: c.entries })),
    goldens: [...goldens].map(([path, ref]) => ({ path: relative(opts.workspace.root, path), ...ref })),
    bases,
    locks,
    ...(opts.replayOf ? { replayOf: opts.replayOf } : {}),
  });
  if (opts.replayOf) state.deps.push(descriptor(`replay-of:${opts.replayOf.runId}`, opts.replayOf.envelopeDigest));
  return new Map(bases.map((b) => [b.ref, b.imageId]));
}

const CELL_VERDICT: Record<CellOutcome['status'], Verdict> = { passed: 'passed', cached: 'passed', failed: 'failed', error: 'error', skipped: 'skipped' };

async function seal(
  opts: RunOptions,
  state: RunState,
  meta: { started: Date; finished: Date; verdict: RunVerdict; engine: EngineInfo | undefined; partialDir: string; images: BuiltImage[] },
): Promise<void> {
  const { loaded } = opts;
  const outputs = state.outcomes.flatMap((o) => o.outputs.map((f) => ({ name: f.name, digest: f.digest })));
  const subjects = [...outputs, ...state.sboms];
  const envs = opts.environments?.length ? opts.environments : Object.keys(loaded.spec.environments);
  const cellsOf = (env: string) => state.outcomes.filter((o) => o.env === env);
  const envVerdict = (env: string): Verdict => {
    const cells = cellsOf(env);
    if (cells.length === 0) return meta.verdict === 'passed' ? 'skipped' : 'error';
    for (const v of ['error', 'failed', 'skipped'] as const) if (cells.some((c) => CELL_VERDICT[c.status] === v)) return v;
    return 'passed';
  };
  const lines = [
    `airlock run ${state.runId}: ${meta.verdict.toUpperCase()}`,
    `spec      ${loaded.spec.name} (${loaded.digest})`,
    `started   ${meta.started.toISOString()}  finished ${meta.finished.toISOString()}`,
    ...meta.images.map((i) => `image     ${i.key}  rootfs ${i.rootfsDigest}`),
    ...state.outcomes.map((o) => {
      const steps = o.steps.map((s) => `${s.name}=${s.verdict}`).join(' ');
      return `cell      ${o.id}: ${o.status}${o.cachedFrom ? ` (from ${o.cachedFrom.runId})` : ''} ${steps}${o.error ? ` [${o.error.code}]` : ''}`;
    }),
    ...outputs.map((o) => `output    ${o.name}  ${o.digest}`),
    `signed by ${opts.key.keyid}`,
    `verify:   airlock verify ${relative(process.cwd(), join(opts.workspace.proofsDir, state.runId))}`,
  ];
  await sealBundle({
    bundleDir: meta.partialDir,
    runId: state.runId,
    transcriptPath: join(meta.partialDir, 'transcript.jsonl'),
    blobs: state.blobs,
    outputs: subjects,
    facts: {
      spec: { name: loaded.spec.name, digest: loaded.digest },
      environments: envs.map((e) => ({
        name: e,
        image: loaded.spec.environments[e]!.image,
        variants: [...new Set(cellsOf(e).flatMap((c) => (c.image ? [c.image.key] : [])))],
        policy: loaded.spec.environments[e]!.policy,
        verdict: envVerdict(e),
        annotations: {
          'dev.airlock.isolation': loaded.spec.environments[e]!.isolation,
          'dev.airlock.cells': cellsOf(e).map((c) => ({
            cell: c.id,
            status: c.status,
            ...(c.image ? { image: c.image.key, rootfsDigest: c.image.rootfsDigest } : {}),
            ...(c.cachedFrom ? { cachedFrom: c.cachedFrom.runId } : {}),
          })),
        },
      })),
      images: meta.images.map((i) => ({ name: i.key, imageId: i.imageId, rootfsDigest: i.rootfsDigest, tag: i.tag })),
      builder: { id: BUILDER_ID, version: { airlock: AIRLOCK_VERSION, ...(meta.engine ? { engine: `${meta.engine.product} ${meta.engine.version}` } : {}), node: process.version } },
      resolvedDependencies: state.deps,
      internalParameters: { engine: meta.engine ?? null, verdict: meta.verdict },
    },
    startedOn: meta.started,
    finishedOn: meta.finished,
    key: opts.key,
    summary: lines,
  });
}
