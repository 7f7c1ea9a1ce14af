import { posix } from 'node:path';
import type Docker from 'dockerode';
import { tarToCas } from '../archive/extract.js';
import type { RuntimeInfo } from '../engine/runtime.js';
import { Sandbox } from '../engine/sandbox.js';
import { isAirlockError } from '../errors.js';
import type { TranscriptWriter } from '../proof/transcript.js';
import type { EnvironmentSpec } from '../spec/types.js';
import type { Cas } from '../store/cas.js';
import type { Ledger } from '../store/ledger.js';
import type { Digest } from '../util/digest.js';
import { captureToCas } from './capture.js';
import { evaluateExpect, type ExpectationFailure } from './expect.js';
import type { Reporter } from './reporter.js';

export type StepVerdict = 'pass' | 'fail' | 'timeout' | 'skipped';

export interface StepOutcome {
  name: string;
  verdict: StepVerdict;
  exitCode: number | null;
  durationMs: number;
  failures: ExpectationFailure[];
}

export interface OutputFile {
  /** subject name: `<env><output path>/<file>` */
  name: string;
  digest: Digest;
  size: number;
}

export interface EnvironmentOutcome {
  env: string;
  verdict: 'passed' | 'failed';
  steps: StepOutcome[];
  outputs: OutputFile[];
}

export interface EnvironmentContext {
  docker: Docker;
  cas: Cas;
  ledger: Ledger;
  transcript: TranscriptWriter;
  reporter: Reporter;
  runId: string;
  helper: string;
  /** records a CAS blob the bundle depends on */
  addBlob: (b: { digest: Digest; size: number; role: string; name: string }) => void;
  signal: AbortSignal;
  /** the engine runtime for gvisor cells; runc (the engine default) otherwise */
  runtime?: RuntimeInfo;
}

/**
 * Runs one environment sealed: creates its cell, runs every step as argv with
 * stdout and stderr captured apart into the CAS, stops at the first failing
 * step, collects declared outputs, and always removes the cell.
 */
export async function runEnvironment(
  ctx: EnvironmentContext,
  name: string,
  spec: EnvironmentSpec,
  image: { ref: string; imageId: string; name: string },
): Promise<EnvironmentOutcome> {
  const { transcript, reporter, cas } = ctx;
  const lifetimeMs = spec.steps.reduce((t, s) => t + s.timeoutMs, 0) + 120_000;
  const sandbox = await Sandbox.create(ctx.docker, {
    runId: ctx.runId,
    envName: name,
    image: image.imageId,
    policy: spec.policy,
    env: spec.env,
    ...(spec.workdir ? { workdir: spec.workdir } : {}),
    helper: ctx.helper,
    lifetimeMs,
    ...(ctx.runtime ? { runtime: ctx.runtime.name } : {}),
  });
  const outcome: EnvironmentOutcome = { env: name, verdict: 'passed', steps: [], outputs: [] };
  try {
    transcript.append('container', {
      env: name,
      containerId: sandbox.id,
      image: image.name,
      imageId: image.imageId,
      user: spec.policy.user,
      isolation: spec.isolation,
      runtime: ctx.runtime ?? { name: 'runc' },
      policy: spec.policy,
      hostConfig: sandbox.hostConfig,
    });
    reporter.event({ type: 'env-started', env: name, image: image.name, containerId: sandbox.id });

    let failed = false;
    for (const [index, step] of spec.steps.entries()) {
      if (failed) {
        outcome.steps.push({ name: step.name, verdict: 'skipped', exitCode: null, durationMs: 0, failures: [] });
        transcript.append('step', { env: name, index, name: step.name, argv: step.run, verdict: 'skipped' });
        reporter.event({ type: 'step-skipped', env: name, step: step.name });
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
      ctx.addBlob({ digest: stdout.digest, size: stdout.size, role: 'stdout', name: `${name}/${step.name}` });
      ctx.addBlob({ digest: stderr.digest, size: stderr.size, role: 'stderr', name: `${name}/${step.name}` });
      const failures = await evaluateExpect(step.expect, { ...result, timeoutMs: step.timeoutMs }, stdout, stderr);
      const verdict: StepVerdict = result.timedOut ? 'timeout' : failures.length > 0 ? 'fail' : 'pass';
      failed = verdict !== 'pass';
      outcome.steps.push({ name: step.name, verdict, exitCode: result.exitCode, durationMs: result.durationMs, failures });
      transcript.append('step', {
        env: name,
        index,
        name: step.name,
        argv: step.run,
        stepEnv: step.env,
        timeoutMs: step.timeoutMs,
        exitCode: result.exitCode,
        timedOut: result.timedOut,
        durationMs: result.durationMs,
        stdout: { digest: stdout.digest, size: stdout.size },
        stderr: { digest: stderr.digest, size: stderr.size },
        expect: step.expect,
        verdict,
        failures,
      });
      ctx.ledger.recordStep({
        runId: ctx.runId,
        env: name,
        idx: index,
        name: step.name,
        exitCode: result.exitCode,
        durationMs: result.durationMs,
        stdoutDigest: stdout.digest,
        stderrDigest: stderr.digest,
        verdict,
        message: failures.map((f) => f.message).join('; ') || null,
      });
      reporter.event({ type: 'step-finished', env: name, step: step.name, verdict, exitCode: result.exitCode, durationMs: result.durationMs, failures });
    }
    if (failed) outcome.verdict = 'failed';

    // Outputs are collected even after a failure: they are often what explains it.
    for (const path of spec.outputs) {
      const { tar, done } = await sandbox.archive(path);
      const [entries] = await Promise.all([tarToCas(tar, cas), done]);
      const files = entries.filter((e) => e.type === 'file' && e.digest !== undefined);
      for (const f of files) {
        const subject = `${name}${posix.join(path, f.path)}`;
        outcome.outputs.push({ name: subject, digest: f.digest!, size: f.size });
        ctx.addBlob({ digest: f.digest!, size: f.size, role: 'output', name: subject });
      }
      transcript.append('output', { env: name, path, entries });
      reporter.event({ type: 'output-collected', env: name, path, files: files.length, bytes: files.reduce((t, f) => t + f.size, 0) });
    }
  } catch (e) {
    if (isAirlockError(e) && e.code === 'STEP_FAILED') {
      outcome.verdict = 'failed';
      transcript.append('output', { env: name, error: e.message });
    } else throw e;
  } finally {
    await sandbox.remove();
    transcript.append('teardown', { env: name, containerId: sandbox.id, removed: true });
  }
  return outcome;
}
