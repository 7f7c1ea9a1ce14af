import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import type { ActionCache, CachedCell, CachedSource } from '../cache/action-cache.js';
import { CELL_FORMAT_VERSION, cacheKey, type CacheKeyInputs } from '../cache/key.js';
import { explainKeyChange, type KeyChange } from '../cache/explain.js';
import { toAirlockError, type AirlockError } from '../errors.js';
import type { PlannedCell } from '../plan/plan.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { nodeLost, type CellNode } from '../scale/cluster.js';
import type { Builder, BuiltImage } from './builds.js';
import { runCellInContainer, subjectName, type CellRunContext, type OutputFile, type ResolvedService, type StepOutcome } from './cell-run.js';

export type CellStatus = 'passed' | 'failed' | 'cached' | 'skipped' | 'error';

/**
 * Why a cell ran: `--no-cache`; no passing result of this cell was ever cached
 * (failures are not cached); its inputs changed (see keyChanges); or the cached
 * result's blobs are gone from the CAS.
 */
export type MissReason = 'no-cache' | 'first-run' | 'inputs-changed' | 'blobs-missing';

export interface CellOutcome {
  id: string;
  env: string;
  matrix?: Record<string, unknown>;
  status: CellStatus;
  steps: StepOutcome[];
  outputs: OutputFile[];
  durationMs: number;
  image?: BuiltImage;
  key?: Digest;
  /** for a cache hit: the signed record it replays */
  cachedFrom?: CachedSource;
  /** why a cell ran instead of replaying the cache */
  missReason?: MissReason;
  /** on a miss that had an earlier entry: what changed in the key */
  keyChanges?: KeyChange[];
  error?: AirlockError;
}

/** What a cell needs from its run; the helper's mount depends on where it is placed. */
export interface CellContext extends Omit<CellRunContext, 'helperMount'> {
  /** where the cell runs; `docker` is its engine */
  place: CellNode;
  builder: Builder;
  cache: ActionCache;
  /** `--no-cache`: run every cell, ignore (but still refresh) the action cache */
  noCache: boolean;
  /** where this run's bundle will be: a cache entry points at its signed record */
  bundleDir: string;
  specDir: string;
}

/**
 * Everything that can change a cell's result, as named components: the image's
 * normalized rootfs digest, argv, env, expectations (golden files by content),
 * policy, runtime, outputs, services, and the build args (so `explain` can name
 * the arg that moved, not only the digest it moved).
 */
async function keyInputs(ctx: CellContext, cell: PlannedCell, image: BuiltImage, resolved: ResolvedService[]): Promise<CacheKeyInputs> {
  // A service is identified by its rootfs digest when known (an image id changes on every rebuild),
  // and by everything that configures it.
  const services = resolved.map(({ imageRef, rootfsDigest, ...svc }) => ({ ...svc, ...(rootfsDigest ? { rootfsDigest } : { imageId: imageRef }) }));
  const spec = cell.spec;
  const goldens: Record<string, Digest> = {};
  const expect = await Promise.all(
    spec.steps.map(async (s) => {
      const withDigest = async (m: (typeof s.expect)['stdout']) => {
        if (!m || !('file' in m)) return m;
        const rel = relative(ctx.specDir, m.file);
        goldens[rel] = sha256Digest(await readFile(m.file));
        return { file: rel, digest: goldens[rel] };
      };
      return { exit: s.expect.exit, stdout: (await withDigest(s.expect.stdout)) ?? null, stderr: (await withDigest(s.expect.stderr)) ?? null };
    }),
  );
  return {
    rootfsDigest: image.rootfsDigest,
    buildArgs: image.args,
    argv: spec.steps.map((s) => s.run),
    env: { ...spec.env, ...Object.fromEntries(spec.steps.flatMap((s, i) => Object.entries(s.env).map(([k, v]) => [`steps[${i}].${k}`, v]))) },
    inputs: goldens,
    policy: { ...spec.policy },
    runtime: spec.isolation === 'gvisor' ? 'runsc' : spec.isolation === 'vm' ? 'qemu' : 'runc',
    outputs: spec.outputs,
    expect,
    timeouts: spec.steps.map((s) => s.timeoutMs),
    workdir: spec.workdir ?? null,
    services: services.length > 0 ? services : undefined,
    variation: ctx.variation,
    cellFormatVersion: CELL_FORMAT_VERSION,
  };
}

/** A cache hit's steps and outputs, as this run's: its blobs become this bundle's too. */
function fromCache(ctx: CellContext, cell: PlannedCell, hit: CachedCell): { steps: StepOutcome[]; outputs: OutputFile[] } {
  const steps: StepOutcome[] = hit.steps.map((s) => ({
    name: s.name,
    verdict: s.verdict,
    exitCode: s.exitCode,
    timedOut: s.timedOut,
    durationMs: s.durationMs,
    failures: [],
    ...(s.stdout ? { stdout: s.stdout } : {}),
    ...(s.stderr ? { stderr: s.stderr } : {}),
  }));
  for (const s of steps) {
    if (s.stdout) ctx.addBlob({ ...s.stdout, role: 'stdout', name: `${cell.id}/${s.name}` });
    if (s.stderr) ctx.addBlob({ ...s.stderr, role: 'stderr', name: `${cell.id}/${s.name}` });
  }
  const outputs: OutputFile[] = [];
  for (const set of hit.outputs) {
    for (const e of set.entries) {
      if (e.type !== 'file' || !e.digest) continue;
      const name = subjectName(cell.id, set.path, e.path);
      outputs.push({ name, digest: e.digest, size: e.size });
      ctx.addBlob({ digest: e.digest, size: e.size, role: 'output', name });
    }
  }
  return { steps, outputs };
}

/**
 * One cell: its image (built once, shared), its cache key, then either a replay
 * of the cached signed result or a sealed run whose passing result is cached.
 * Never throws for the cell's own failures: they become its status.
 */
export async function runCell(ctx: CellContext, cell: PlannedCell, resolveServices: (cell: PlannedCell) => Promise<ResolvedService[]>): Promise<CellOutcome> {
  const started = performance.now();
  const base = { id: cell.id, env: cell.env, ...(cell.matrix ? { matrix: cell.matrix } : {}) };
  ctx.transcript.append('cell', { cell: cell.id, env: cell.env, matrix: cell.matrix ?? null, state: 'started', image: cell.image!, ...(ctx.place.name ? { node: ctx.place.name } : {}) });
  ctx.reporter.event({ type: 'cell-started', cell: cell.id });
  let image: BuiltImage | undefined;
  try {
    image = await ctx.builder.image(cell.image!);
    const services = await resolveServices(cell);
    const inputs = await keyInputs(ctx, cell, image, services);
    const { key, components } = cacheKey(inputs);
    const hit = ctx.noCache ? undefined : await ctx.cache.get(key);
    if (hit) {
      const { steps, outputs } = fromCache(ctx, cell, hit);
      const durationMs = Math.round(performance.now() - started);
      ctx.transcript.append('cell', { cell: cell.id, state: 'finished', status: 'cached', key, components, cachedFrom: hit.source, steps: hit.steps, outputs: hit.outputs });
      ctx.reporter.event({ type: 'cell-finished', cell: cell.id, status: 'cached', durationMs, cachedFrom: hit.source.runId });
      return { ...base, status: 'cached', steps, outputs, durationMs, image, key, cachedFrom: hit.source };
    }
    const previous = await ctx.cache.latest(cell.id);
    const keyChanges = previous ? explainKeyChange(previous.inputs, inputs) : undefined;
    const missReason: MissReason = ctx.noCache ? 'no-cache' : !previous ? 'first-run' : keyChanges!.length === 0 ? 'blobs-missing' : 'inputs-changed';
    const cellImage = { name: image.name, imageId: image.imageId, rootfsDigest: image.rootfsDigest };
    // the images go where the cell runs, their rootfs checked there (nothing to do on the building engine)
    const shipped = ctx.place.ship({ imageId: image.imageId, rootfsDigest: image.rootfsDigest });
    const [helperMount] = await Promise.all([
      ctx.place.helperMount(ctx.helper, image.imageId),
      shipped,
      ...services.map((s) => ctx.place.ship({ imageId: s.imageRef, ...(s.rootfsDigest ? { rootfsDigest: s.rootfsDigest as Digest } : {}) })),
    ]);
    const runCtx = { ...ctx, helperMount };
    const outcome =
      cell.spec.isolation === 'vm'
        ? await (await import('./cell-run-vm.js')).runCellInVm(runCtx, cell.id, cell.spec, cellImage)
        : await runCellInContainer(runCtx, cell.id, cell.spec, cellImage, services);
    const durationMs = Math.round(performance.now() - started);
    const status: CellStatus = outcome.verdict;
    const cachedSteps = outcome.steps.map((s) => ({
      name: s.name,
      verdict: s.verdict,
      exitCode: s.exitCode,
      timedOut: s.timedOut,
      durationMs: s.durationMs,
      ...(s.stdout ? { stdout: s.stdout } : {}),
      ...(s.stderr ? { stderr: s.stderr } : {}),
    }));
    const record = ctx.transcript.append('cell', { cell: cell.id, state: 'finished', status, key, components, missReason, keyChanges: keyChanges ?? [], steps: cachedSteps, outputs: outcome.outputSets });
    // Only passing results are cached: a failure is re-run, so a flaky pass can still show up.
    if (status === 'passed') {
      await ctx.cache.put(key, {
        key,
        cell: cell.id,
        inputs,
        cellFormatVersion: CELL_FORMAT_VERSION,
        steps: cachedSteps,
        outputs: outcome.outputSets,
        durationMs,
        source: { runId: ctx.runId, bundleDir: ctx.bundleDir, transcriptSeq: record.seq },
        storedAt: new Date().toISOString(),
      });
    }
    ctx.reporter.event({ type: 'cell-finished', cell: cell.id, status, durationMs, missReason, ...(keyChanges ? { keyChanges } : {}) });
    return { ...base, status, steps: outcome.steps, outputs: outcome.outputs, durationMs, image, key, missReason, ...(keyChanges ? { keyChanges } : {}) };
  } catch (e) {
    const error = toAirlockError(e);
    if (error.code === 'INTERRUPTED') throw error;
    // an engine that stopped answering is not the cell's failure: the run tries it elsewhere
    if (ctx.place.name && (await ctx.place.lost())) throw nodeLost(ctx.place.name, error);
    const durationMs = Math.round(performance.now() - started);
    ctx.transcript.append('cell', { cell: cell.id, state: 'finished', status: 'error', error: error.toJSON() });
    ctx.reporter.event({ type: 'cell-finished', cell: cell.id, status: 'error', durationMs, error: error.toJSON() });
    return { ...base, status: 'error', steps: [], outputs: [], durationMs, ...(image ? { image } : {}), error };
  }
}
