import { randomBytes } from 'node:crypto';
import { readFile, rename, rm } from 'node:fs/promises';
import { arch, cpus, platform, release } from 'node:os';
import { join, relative } from 'node:path';
import type Docker from 'dockerode';
import { writeContextTar } from '../archive/context.js';
import { HOST_BUSYBOX } from '../base/busybox.js';
import { findBase } from '../base/catalog.js';
import { requirePackage } from '../base/host-tools.js';
import { BASE_LOCK_FILE } from '../base/lock.js';
import { BuildFailure, buildImage } from '../engine/build.js';
import { engineInfo, isNotFound, type EngineInfo } from '../engine/client.js';
import { removeRunResources } from '../engine/cleanup.js';
import { runtimeFor } from '../engine/runtime.js';
import { LABEL_ROOTFS } from '../engine/labels.js';
import { measureImage } from '../engine/measure.js';
import { AirlockError, EXIT, toAirlockError, type ExitCode } from '../errors.js';
import type { SigningKey } from '../proof/keys.js';
import type { ManifestBlob } from '../proof/manifest.js';
import { sealBundle } from '../proof/seal.js';
import type { ResourceDescriptor, Verdict } from '../proof/statement.js';
import { TranscriptWriter } from '../proof/transcript.js';
import { planRun, type PlannedImage } from '../plan/plan.js';
import type { LoadedSpec } from '../spec/types.js';
import { digestHex, type Digest } from '../util/digest.js';
import { AIRLOCK_VERSION, BUILDER_ID } from '../version.js';
import { runEnvironment, type EnvironmentOutcome } from './environment.js';
import type { Reporter } from './reporter.js';
import type { Workspace } from './workspace.js';

export interface RunOptions {
  loaded: LoadedSpec;
  /** environments to run (default: all) */
  environments?: string[];
  workspace: Workspace;
  docker: Docker;
  key: SigningKey;
  reporter: Reporter;
  signal: AbortSignal;
  noCache?: boolean;
}

export type RunVerdict = 'passed' | 'failed' | 'error' | 'interrupted';

export interface BuiltImage {
  name: string;
  tag: string;
  imageId: string;
  rootfsDigest: Digest;
}

export interface RunResult {
  runId: string;
  bundleDir: string;
  verdict: RunVerdict;
  exitCode: ExitCode;
  images: BuiltImage[];
  environments: EnvironmentOutcome[];
  /** the error that ended the run early, if any */
  error?: AirlockError;
  durationMs: number;
}

export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(4).toString('hex')}`;
}

/** Mutable state of one run, shared by its phases. */
interface RunState {
  runId: string;
  transcript: TranscriptWriter;
  blobs: ManifestBlob[];
  images: BuiltImage[];
  outcomes: EnvironmentOutcome[];
  deps: ResourceDescriptor[];
  /** build contexts by `<context dir>\0<dockerfile>`, their tars kept in the CAS */
  contexts: Map<string, ContextTar>;
}

interface ContextTar {
  digest: Digest;
  size: number;
  entries: number;
  dockerfileName: string;
  tarPath: string;
}

const descriptor = (name: string, digest: Digest, annotations?: Record<string, unknown>): ResourceDescriptor => ({
  name,
  digest: { sha256: digestHex(digest) },
  ...(annotations ? { annotations } : {}),
});

/**
 * One run of a spec: check the engine, record the inputs, build the images in
 * dependency order, run each environment sealed, then seal the transcript into
 * a signed bundle. Whatever happens (failure, error, interruption) the run's
 * containers are removed and the bundle is sealed with the verdict reached.
 */
export async function runSpec(opts: RunOptions): Promise<RunResult> {
  const { workspace, docker, reporter, loaded, signal } = opts;
  const started = new Date();
  const runId = newRunId(started);
  const partialDir = join(workspace.proofsDir, `.${runId}.partial`);
  const bundleDir = join(workspace.proofsDir, runId);
  const state: RunState = {
    runId,
    transcript: TranscriptWriter.open(join(partialDir, 'transcript.jsonl')),
    blobs: [],
    images: [],
    outcomes: [],
    deps: [],
    contexts: new Map(),
  };
  const addBlob = (b: ManifestBlob) => state.blobs.push(b);
  workspace.ledger.startRun({ id: runId, specName: loaded.spec.name, specDigest: loaded.digest, bundleDir, startedAt: started });
  reporter.event({ type: 'run-started', runId, spec: relative(process.cwd(), loaded.file) || loaded.file });

  let verdict: RunVerdict = 'passed';
  let error: AirlockError | undefined;
  let engine: EngineInfo | undefined;
  try {
    engine = await engineInfo(docker);
    const plan = await planRun(loaded, opts.environments);
    const helper = await recordEnvironment(opts, state, engine);
    await recordInputs(opts, state, plan.images);
    for (const image of plan.images) {
      throwIfAborted(signal);
      state.images.push(await buildOne(opts, state, image));
    }
    for (const env of plan.environments) {
      throwIfAborted(signal);
      const image = state.images.find((i) => i.name === env.spec.image)!;
      const runtime = await runtimeFor(docker, env.spec.isolation);
      const outcome = await runEnvironment(
        {
          docker,
          cas: workspace.cas,
          ledger: workspace.ledger,
          transcript: state.transcript,
          reporter,
          runId,
          helper,
          addBlob,
          signal,
          ...(runtime ? { runtime } : {}),
        },
        env.name,
        env.spec,
        { ref: image.tag, imageId: image.imageId, name: image.name },
      );
      state.outcomes.push(outcome);
      if (outcome.verdict === 'failed') verdict = 'failed';
    }
  } catch (e) {
    error = signal.aborted ? new AirlockError('INTERRUPTED', 'interrupted by signal', { cause: e }) : toAirlockError(e);
    verdict = error.code === 'INTERRUPTED' ? 'interrupted' : 'error';
    state.transcript.append('run', { error: error.toJSON() });
  } finally {
    // Runs before sealing, so the bundle can say the cells are gone.
    const removed = await removeRunResources(docker, runId).catch((e: unknown) => ({ error: String(e) }));
    state.transcript.append('teardown', { run: runId, removed });
  }

  const finished = new Date();
  const exitCode: ExitCode = error ? error.exitCode : verdict === 'failed' ? EXIT.FAILED : EXIT.OK;
  state.transcript.append('run', {
    verdict,
    exitCode,
    durationMs: finished.getTime() - started.getTime(),
    environments: state.outcomes.map((o) => ({ env: o.env, verdict: o.verdict })),
  });
  state.transcript.close();
  try {
    await seal(opts, state, { started, finished, verdict, engine, partialDir });
    await rename(partialDir, bundleDir);
    reporter.event({ type: 'sealed', runId, bundleDir, keyid: opts.key.keyid });
  } catch (e) {
    await rm(partialDir, { recursive: true, force: true });
    workspace.ledger.finishRun(runId, { status: 'error', exitCode: EXIT.INTERNAL, bundleDir: null });
    throw e;
  }
  workspace.ledger.finishRun(runId, { status: verdict, exitCode, bundleDir });
  return {
    runId,
    bundleDir,
    verdict,
    exitCode,
    images: state.images,
    environments: state.outcomes,
    ...(error ? { error } : {}),
    durationMs: finished.getTime() - started.getTime(),
  };
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new AirlockError('INTERRUPTED', 'interrupted by signal');
}

/** The `environment` phase: engine, host, airlock, and the helper every cell mounts. */
async function recordEnvironment(opts: RunOptions, state: RunState, engine: EngineInfo): Promise<string> {
  const version = await requirePackage('busybox-static', 'inside every cell (its helper keeps the cell alive and enforces timeouts)');
  const helper = await opts.workspace.cas.putFile(HOST_BUSYBOX);
  state.blobs.push({ ...helper, role: 'helper', name: HOST_BUSYBOX });
  state.transcript.append('environment', {
    engine,
    host: { platform: platform(), release: release(), arch: arch(), cpus: cpus().length, node: process.version },
    airlock: { version: AIRLOCK_VERSION },
    helper: { path: HOST_BUSYBOX, package: `busybox-static ${version}`, digest: helper.digest, size: helper.size },
  });
  return HOST_BUSYBOX;
}

/** The `inputs` phase: every byte that can change the result, by digest, kept in the CAS. */
async function recordInputs(opts: RunOptions, state: RunState, images: PlannedImage[]): Promise<void> {
  const { cas } = opts.workspace;
  const { docker, loaded } = opts;
  const spec = await cas.put(Buffer.from(loaded.text, 'utf8'));
  state.blobs.push({ ...spec, role: 'spec', name: relative(loaded.dir, loaded.file) });
  state.deps.push(descriptor('spec', spec.digest));

  const dockerfiles = new Map<string, { digest: Digest; size: number }>();
  const contexts = state.contexts;
  for (const image of images) {
    if (!dockerfiles.has(image.dockerfilePath)) {
      const ref = await cas.putFile(image.dockerfilePath);
      dockerfiles.set(image.dockerfilePath, ref);
      const name = relative(loaded.dir, image.dockerfilePath);
      state.blobs.push({ ...ref, role: 'dockerfile', name });
      state.deps.push(descriptor(`dockerfile:${name}`, ref.digest));
    }
    const key = `${image.contextDir}\0${image.dockerfilePath}`;
    if (!contexts.has(key)) {
      const tarPath = join(cas.tmpDir, `context-${state.runId}-${contexts.size}.tar`);
      const tar = await writeContextTar(image.contextDir, tarPath, { dockerfile: image.dockerfilePath });
      const ref = await cas.putFile(tarPath);
      await rm(tarPath, { force: true });
      contexts.set(key, { ...ref, entries: tar.entries, dockerfileName: tar.dockerfileName, tarPath: cas.pathOf(ref.digest) });
      const name = relative(loaded.dir, image.contextDir) || '.';
      state.blobs.push({ ...ref, role: 'context', name });
      state.deps.push(descriptor(`context:${name}`, ref.digest));
    }
  }

  const bases: { ref: string; imageId: string; rootfsDigest: string | null }[] = [];
  for (const ref of [...new Set(images.flatMap((i) => i.bases))].sort()) {
    let inspected;
    try {
      inspected = await docker.getImage(ref).inspect();
    } catch (e) {
      if (!isNotFound(e)) throw e;
      throw new AirlockError(
        'BASE_IMAGE_MISSING',
        findBase(ref)
          ? `base image ${ref} is not in the engine; run \`airlock base\` (or \`make setup\`) to make it`
          : `image ${ref} is not in the engine and nothing can be pulled here; build it locally or use an airlock base (airlock/busybox, airlock/debian:bookworm, airlock/debian:bookworm-build)`,
        { details: { ref } },
      );
    }
    const rootfsDigest = inspected.Config?.Labels?.[LABEL_ROOTFS] ?? null;
    bases.push({ ref, imageId: inspected.Id, rootfsDigest });
    state.deps.push(rootfsDigest ? descriptor(`base:${ref}`, rootfsDigest as Digest) : { name: `base:${ref}`, uri: `docker-image-id:${inspected.Id}` });
  }

  const locks: { path: string; digest: Digest; size: number }[] = [];
  const lockPath = join(opts.workspace.locksDir, BASE_LOCK_FILE);
  if (await readFile(lockPath).then(() => true, () => false)) {
    const ref = await cas.putFile(lockPath);
    locks.push({ path: `locks/${BASE_LOCK_FILE}`, ...ref });
    state.blobs.push({ ...ref, role: 'lock', name: `locks/${BASE_LOCK_FILE}` });
  }

  state.transcript.append('inputs', {
    spec: { path: relative(opts.workspace.root, loaded.file), ...spec },
    dockerfiles: [...dockerfiles].map(([path, ref]) => ({ path: relative(opts.workspace.root, path), ...ref })),
    contexts: [...contexts].map(([key, c]) => ({ dir: relative(opts.workspace.root, key.split('\0')[0]!) || '.', digest: c.digest, size: c.size, entries: c.entries })),
    bases,
    locks,
  });
}

async function buildOne(opts: RunOptions, state: RunState, image: PlannedImage): Promise<BuiltImage> {
  const { docker, reporter, workspace } = opts;
  const context = state.contexts.get(`${image.contextDir}\0${image.dockerfilePath}`)!;
  reporter.event({ type: 'build-started', image: image.name, target: image.spec.target });
  const startedAt = performance.now();
  let result;
  try {
    result = await buildImage(docker, {
      contextTar: context.tarPath,
      dockerfile: context.dockerfileName,
      ...(image.spec.target ? { target: image.spec.target } : {}),
      args: image.spec.args,
      labels: { ...image.spec.labels, 'dev.airlock.spec': opts.loaded.spec.name, 'dev.airlock.image': image.name },
      tag: image.tag,
      noCache: opts.noCache ?? false,
      signal: opts.signal,
      onLine: (line) => reporter.event({ type: 'build-line', image: image.name, line }),
    });
  } catch (e) {
    if (e instanceof BuildFailure) {
      const log = await workspace.cas.put(Buffer.from(e.log, 'utf8'));
      state.blobs.push({ ...log, role: 'build-log', name: image.name });
      state.transcript.append('build', { image: image.name, target: image.spec.target ?? null, tag: image.tag, error: e.message, step: e.details.step ?? null, log });
    }
    throw e;
  }
  const durationMs = Math.round(performance.now() - startedAt);
  const log = await workspace.cas.put(Buffer.from(result.log, 'utf8'));
  state.blobs.push({ ...log, role: 'build-log', name: image.name });
  state.transcript.append('build', {
    image: image.name,
    target: image.spec.target ?? null,
    tag: image.tag,
    dockerfile: relative(workspace.root, image.dockerfilePath),
    context: context.digest,
    args: image.spec.args,
    imageId: result.imageId,
    durationMs,
    log,
  });

  // The rootfs digest of an image id never changes: measure each id once.
  let measured = workspace.ledger.getRootfsDigest(result.imageId);
  let listing: { digest: Digest; size: number } | undefined;
  if (!measured || !measured.listingDigest || !(await workspace.cas.has(measured.listingDigest))) {
    const m = await measureImage(docker, result.imageId, state.runId);
    listing = await workspace.cas.put(m.listing);
    workspace.ledger.putRootfsDigest({ imageId: result.imageId, rootfsDigest: m.digest, listingDigest: listing.digest });
    measured = workspace.ledger.getRootfsDigest(result.imageId)!;
  } else {
    listing = { digest: measured.listingDigest, size: await workspace.cas.size(measured.listingDigest) };
  }
  state.blobs.push({ ...listing, role: 'rootfs-listing', name: image.name });
  state.transcript.append('image', { image: image.name, imageId: result.imageId, rootfsDigest: measured.rootfsDigest, listing });
  workspace.ledger.recordImage({ runId: state.runId, name: image.name, imageId: result.imageId, rootfsDigest: measured.rootfsDigest, buildLogDigest: log.digest, durationMs });
  reporter.event({ type: 'build-finished', image: image.name, imageId: result.imageId, rootfsDigest: measured.rootfsDigest, durationMs });
  return { name: image.name, tag: image.tag, imageId: result.imageId, rootfsDigest: measured.rootfsDigest };
}

async function seal(
  opts: RunOptions,
  state: RunState,
  meta: { started: Date; finished: Date; verdict: RunVerdict; engine: EngineInfo | undefined; partialDir: string },
): Promise<void> {
  const { loaded } = opts;
  const outputs = state.outcomes.flatMap((o) => o.outputs.map((f) => ({ name: f.name, digest: f.digest })));
  const envVerdict = (name: string): Verdict => {
    const o = state.outcomes.find((x) => x.env === name);
    return o ? o.verdict : meta.verdict === 'passed' ? 'skipped' : 'error';
  };
  const envs = opts.environments?.length ? opts.environments : Object.keys(loaded.spec.environments);
  const lines = [
    `airlock run ${state.runId}: ${meta.verdict.toUpperCase()}`,
    `spec      ${loaded.spec.name} (${loaded.digest})`,
    `started   ${meta.started.toISOString()}  finished ${meta.finished.toISOString()}`,
    ...state.images.map((i) => `image     ${i.name}  rootfs ${i.rootfsDigest}`),
    ...envs.map((e) => {
      const o = state.outcomes.find((x) => x.env === e);
      const steps = o ? o.steps.map((s) => `${s.name}=${s.verdict}`).join(' ') : '';
      return `env       ${e}: ${envVerdict(e)} ${steps}`;
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
    outputs,
    facts: {
      spec: { name: loaded.spec.name, digest: loaded.digest },
      environments: envs.map((e) => ({ name: e, image: loaded.spec.environments[e]!.image, policy: loaded.spec.environments[e]!.policy, verdict: envVerdict(e) })),
      images: state.images.map((i) => ({ name: i.name, imageId: i.imageId, rootfsDigest: i.rootfsDigest, tag: i.tag })),
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
