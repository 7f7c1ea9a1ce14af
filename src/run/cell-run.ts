import { posix } from 'node:path';
import type { Engine } from '../engine/engine.js';
import type { HelperMount } from '../engine/hardening.js';
import { tarToCas, type OutputEntry } from '../archive/extract.js';
import { createCellNetwork, removeNetwork, type CellNetwork } from '../engine/network.js';
import type { RuntimeInfo } from '../engine/runtime.js';
import { Sandbox } from '../engine/sandbox.js';
import type { Variation } from '../engine/variation.js';
import { startServices, stopServices, type RunningService } from '../engine/services.js';
import { isAirlockError } from '../errors.js';
import type { TranscriptWriter } from '../proof/transcript.js';
import type { EnvironmentSpec, ServiceSpec, StepSpec } from '../spec/types.js';
import type { Cas } from '../store/cas.js';
import type { Ledger } from '../store/ledger.js';
import type { Digest } from '../util/digest.js';
import { captureToCas } from './capture.js';
import { evaluateExpect, type ExpectationFailure, type StreamText } from './expect.js';
import type { Reporter } from './reporter.js';

import type { StepVerdict } from '../proof/transcript-events-cell.js';

export interface StreamRef {
  digest: Digest;
  size: number;
}

export interface StepOutcome {
  name: string;
  verdict: StepVerdict;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  failures: ExpectationFailure[];
  stdout?: StreamRef;
  stderr?: StreamRef;
}

export interface OutputFile {
  /** subject name: `<cell><output path>/<file>` */
  name: string;
  digest: Digest;
  size: number;
}

export interface CellRunOutcome {
  verdict: 'passed' | 'failed';
  steps: StepOutcome[];
  /** every regular file collected, as a signed subject */
  outputs: OutputFile[];
  /** what each declared output path held */
  outputSets: { path: string; entries: OutputEntry[] }[];
}

export interface CellRunContext {
  /** the engine the cell runs on: the run's one engine, or the node it was placed on */
  engine: Engine;
  /** that node's name, in a multi-engine run: recorded with what it read back */
  node?: string;
  cas: Cas;
  ledger: Ledger;
  transcript: TranscriptWriter;
  reporter: Reporter;
  runId: string;
  /** the host path of the helper (a VM cell's guest root takes the file) */
  helper: string;
  /** how containers on the cell's engine mount the helper: that file, or a volume on a node */
  helperMount: HelperMount;
  /** records a CAS blob the bundle depends on */
  addBlob: (b: { digest: Digest; size: number; role: string; name: string }) => void;
  signal: AbortSignal;
  /** the engine runtime for gvisor cells; runc (the engine default) otherwise */
  runtime?: RuntimeInfo;
  /** what `airlock repro` varies in this run */
  variation?: Variation;
}

export interface CellImage {
  name: string;
  imageId: string;
  /** normalized rootfs digest: what the image is, whichever engine id it has */
  rootfsDigest: Digest;
}

/** A spec service, ready to start: its image resolved to what the engine holds (and its rootfs digest, when known). */
export type ResolvedService = ServiceSpec & { imageRef: string; rootfsDigest?: string };

/** Subject names never contain ':' or spaces from matrix values: they are paths for reviewers. */
export function subjectName(cell: string, path: string, file: string): string {
  return `${cell}${posix.join(path, file)}`;
}

/**
 * Runs one cell sealed in a container: its services (if any) healthy on an internal network,
 * then its container with every step as argv, stdout and stderr captured apart
 * into the CAS, stopping at the first failing step; then declared outputs are
 * collected; the cell and its services are always removed.
 */
export async function runCellInContainer(
  ctx: CellRunContext,
  cell: string,
  spec: EnvironmentSpec,
  image: CellImage,
  services: ResolvedService[] = [],
): Promise<CellRunOutcome> {
  const { transcript } = ctx;
  let network: CellNetwork | undefined;
  let running: RunningService[] = [];
  try {
    if (services.length > 0) {
      network = await createCellNetwork(ctx.engine, { runId: ctx.runId, cell });
      transcript.append('network', { cell, id: network.id, name: network.name, readback: network.readback });
      running = await startServices(ctx.engine, {
        runId: ctx.runId,
        cell,
        network,
        services: services.map((s) => ({
          name: s.name,
          image: s.imageRef,
          ...(s.run ? { run: s.run } : {}),
          env: s.env,
          user: s.policy.user,
          readOnlyRootfs: s.policy.readOnlyRootfs,
          tmpfs: s.policy.tmpfs,
          memoryBytes: s.policy.memoryBytes,
          pids: s.policy.pids,
          cpus: s.policy.cpus,
          ...(s.healthcheck ? { healthcheck: s.healthcheck } : {}),
          ...(s.wait ? { wait: s.wait } : {}),
          startupTimeoutMs: s.startupTimeoutMs,
        })),
        signal: ctx.signal,
        helper: ctx.helperMount,
      });
      for (const [i, svc] of running.entries()) {
        transcript.append('service', { cell, ...nodeFields(ctx), policy: services[i]!.policy, ...svc });
        ctx.reporter.event({ type: 'service-ready', cell, service: svc.name, afterMs: svc.healthyAfterMs, strategy: svc.strategy });
      }
    }
    return await runSandboxed(ctx, cell, spec, image, network);
  } finally {
    if (running.length > 0) await stopServices(ctx.engine, running);
    if (network) await removeNetwork(ctx.engine, network.id);
    if (running.length > 0 || network) transcript.append('teardown', { cell, services: running.map((s) => s.containerId), network: network?.id ?? null });
  }
}

async function runSandboxed(ctx: CellRunContext, cell: string, spec: EnvironmentSpec, image: CellImage, network: CellNetwork | undefined): Promise<CellRunOutcome> {
  const { transcript, reporter, cas } = ctx;
  const lifetimeMs = spec.steps.reduce((t, s) => t + s.timeoutMs, 0) + 120_000;
  const sandbox = await Sandbox.create(ctx.engine, {
    runId: ctx.runId,
    cell,
    image: image.imageId,
    policy: spec.policy,
    env: spec.env,
    ...(spec.workdir ? { workdir: spec.workdir } : {}),
    helper: ctx.helperMount,
    lifetimeMs,
    ...(ctx.runtime ? { runtime: ctx.runtime.name } : {}),
    ...(network ? { network: network.name } : {}),
    ...(ctx.variation ? { variation: ctx.variation } : {}),
  });
  const outcome: CellRunOutcome = { verdict: 'passed', steps: [], outputs: [], outputSets: [] };
  try {
    transcript.append('container', {
      env: cell,
      ...nodeFields(ctx),
      containerId: sandbox.id,
      image: image.name,
      imageId: image.imageId,
      user: sandbox.user,
      isolation: spec.isolation === 'gvisor' ? 'gvisor' : 'container',
      runtime: ctx.runtime ?? { name: 'runc' },
      policy: spec.policy,
      ...(ctx.variation ? { variation: ctx.variation } : {}),
      ...(network ? { network: { id: network.id, name: network.name, internal: network.readback.Internal } } : {}),
      hostConfig: sandbox.hostConfig,
    });
    reporter.event({ type: 'env-started', env: cell, image: image.name, containerId: sandbox.id, ...(ctx.node ? { node: ctx.node } : {}) });

    let failed = false;
    for (const [index, step] of spec.steps.entries()) {
      if (failed) {
        outcome.steps.push(skipStep(ctx, cell, index, step));
        continue;
      }
      const out = captureToCas(cas, ctx.signal);
      const err = captureToCas(cas, ctx.signal);
      let result;
      try {
        result = await sandbox.exec(step.run, { env: step.env, timeoutMs: step.timeoutMs, stdout: out.sink, stderr: err.sink, signal: ctx.signal });
      } catch (e) {
        // The captures end with the exec; let them settle so no blob write is left dangling.
        await Promise.allSettled([out.done, err.done]);
        throw e;
      }
      const [stdout, stderr] = await Promise.all([out.done, err.done]);
      const finished = await finishStep(ctx, cell, index, step, result, stdout, stderr);
      outcome.steps.push(finished);
      failed = finished.verdict !== 'pass';
    }
    if (failed) outcome.verdict = 'failed';

    // Outputs are collected even after a failure: they are often what explains it.
    for (const path of spec.outputs) {
      const { tar, done } = await sandbox.archive(path);
      const [entries] = await Promise.all([tarToCas(tar, cas), done]);
      recordOutputSet(ctx, cell, path, entries, outcome);
    }
  } catch (e) {
    if (isAirlockError(e) && e.code === 'STEP_FAILED') {
      outcome.verdict = 'failed';
      transcript.append('output', { env: cell, error: e.message });
    } else throw e;
  } finally {
    await sandbox.remove();
    transcript.append('teardown', { env: cell, containerId: sandbox.id, removed: true });
  }
  return outcome;
}

/**
 * Records one step that ran, however it ran (container or VM): its streams as
 * blobs, its expectations judged, the transcript event, the ledger row and the
 * progress event.
 */
export async function finishStep(
  ctx: CellRunContext,
  cell: string,
  index: number,
  step: StepSpec,
  result: { exitCode: number; timedOut: boolean; durationMs: number },
  stdout: StreamText & StreamRef,
  stderr: StreamText & StreamRef,
): Promise<StepOutcome> {
  ctx.addBlob({ digest: stdout.digest, size: stdout.size, role: 'stdout', name: `${cell}/${step.name}` });
  ctx.addBlob({ digest: stderr.digest, size: stderr.size, role: 'stderr', name: `${cell}/${step.name}` });
  const failures = await evaluateExpect(step.expect, { ...result, timeoutMs: step.timeoutMs }, stdout, stderr);
  const verdict: StepVerdict = result.timedOut ? 'timeout' : failures.length > 0 ? 'fail' : 'pass';
  const streams = { stdout: { digest: stdout.digest, size: stdout.size }, stderr: { digest: stderr.digest, size: stderr.size } };
  ctx.transcript.append('step', {
    env: cell,
    index,
    name: step.name,
    argv: step.run,
    stepEnv: step.env,
    timeoutMs: step.timeoutMs,
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    durationMs: result.durationMs,
    ...streams,
    expect: step.expect,
    verdict,
    failures,
  });
  ctx.ledger.recordStep({
    runId: ctx.runId,
    env: cell,
    idx: index,
    name: step.name,
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    stdoutDigest: stdout.digest,
    stderrDigest: stderr.digest,
    verdict,
    message: failures.map((f) => f.message).join('; ') || null,
  });
  ctx.reporter.event({ type: 'step-finished', env: cell, step: step.name, verdict, exitCode: result.exitCode, durationMs: result.durationMs, failures });
  return { name: step.name, verdict, exitCode: result.exitCode, timedOut: result.timedOut, durationMs: result.durationMs, failures, ...streams };
}

/** A step that did not run because an earlier one failed. */
export function skipStep(ctx: CellRunContext, cell: string, index: number, step: StepSpec): StepOutcome {
  ctx.transcript.append('step', { env: cell, index, name: step.name, argv: step.run, verdict: 'skipped' });
  ctx.reporter.event({ type: 'step-skipped', env: cell, step: step.name });
  return { name: step.name, verdict: 'skipped', exitCode: null, timedOut: false, durationMs: 0, failures: [] };
}

/** One declared output path's files, as signed subjects and manifest blobs. */
export function recordOutputSet(ctx: CellRunContext, cell: string, path: string, entries: OutputEntry[], outcome: CellRunOutcome): void {
  const files = entries.filter((e) => e.type === 'file' && e.digest !== undefined);
  for (const f of files) {
    const name = subjectName(cell, path, f.path);
    outcome.outputs.push({ name, digest: f.digest!, size: f.size });
    ctx.addBlob({ digest: f.digest!, size: f.size, role: 'output', name });
  }
  outcome.outputSets.push({ path, entries });
  ctx.transcript.append('output', { env: cell, path, entries });
  ctx.reporter.event({ type: 'output-collected', env: cell, path, files: files.length, bytes: files.reduce((t, f) => t + f.size, 0) });
}

/** Where a container ran, for its event: the node, and the helper volume when the helper was not this machine's file. */
function nodeFields(ctx: CellRunContext): { node?: string; helper?: HelperMount } {
  return {
    ...(ctx.node ? { node: ctx.node } : {}),
    ...(ctx.helperMount.source !== ctx.helper ? { helper: ctx.helperMount } : {}),
  };
}
