import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { tarToCas, type OutputEntry } from '../archive/extract.js';
import { openImageFilesystem, type ImageFilesystem } from '../engine/image-filesystem.js';
import type { EnvironmentSpec } from '../spec/types.js';
import { runInVm } from '../vm/run-vm.js';
import { captureToCas, type Capture } from './capture.js';
import { finishStep, recordOutputSet, skipStep, type CellImage, type CellRunContext, type CellRunOutcome } from './cell-run.js';

/**
 * Runs one cell inside a QEMU guest with no network card: the guest root is
 * made from the cell image's filesystem, airlock-init runs the steps and streams
 * their output back over a framed channel, and the result is recorded exactly
 * like a container cell's (same step events, same outputs), plus a `vm` event
 * with the kernel, guest root, QEMU command line and acceleration used.
 */
export async function runCellInVm(ctx: CellRunContext, cell: string, spec: EnvironmentSpec, image: CellImage): Promise<CellRunOutcome> {
  const vm = spec.vm!;
  const { engine, cas, transcript } = ctx;
  // Outside the CAS's tmp/ (swept of strangers) and short, for the guest's Unix socket path.
  const work = await mkdtemp(join(tmpdir(), 'airlock-vm-'));
  // the image is exported only when its guest root is not kept yet (vm/root-cache.ts)
  let exporter: ImageFilesystem | undefined;
  const captures = new Map<number, { out: Capture; err: Capture }>();
  const outputs = new Map<string, Promise<OutputEntry[]>>();
  const outcome: CellRunOutcome = { verdict: 'passed', steps: [], outputs: [], outputSets: [] };
  try {
    ctx.reporter.event({ type: 'env-started', env: cell, image: image.name, containerId: `vm:${image.imageId.replace(/^sha256:/, '').slice(0, 12)}` });
    const result = await runInVm({
      rootfs: async () => {
        exporter = await openImageFilesystem(engine, image.imageId, ctx.runId);
        return exporter.tar();
      },
      rootCache: { cas, dir: join(cas.root, 'vm', 'roots'), rootfsDigest: image.rootfsDigest },
      helper: ctx.helper,
      cas,
      steps: spec.steps.map((s) => ({ name: s.name, argv: s.run, env: s.env, timeoutMs: s.timeoutMs, expectExit: s.expect.exit })),
      user: spec.policy.user,
      ...(spec.workdir ? { workdir: spec.workdir } : {}),
      env: spec.env,
      outputs: spec.outputs,
      vm: { memoryBytes: vm.memoryBytes, cpus: vm.cpus, accel: vm.accel, timeoutMs: vm.timeoutMs },
      workDir: work,
      tmpfs: spec.policy.tmpfs,
      readOnlyRoot: spec.policy.readOnlyRootfs,
      stepSinks: (index) => {
        const pair = { out: captureToCas(cas, ctx.signal), err: captureToCas(cas, ctx.signal) };
        captures.set(index, pair);
        return { stdout: pair.out.sink, stderr: pair.err.sink };
      },
      outputSink: (path) => {
        const sink = new PassThrough();
        const entries = tarToCas(sink, cas);
        entries.catch(() => undefined);
        outputs.set(path, entries);
        return sink;
      },
      signal: ctx.signal,
    });
    const bootLog = await cas.putFile(result.bootLogPath);
    ctx.addBlob({ ...bootLog, role: 'boot-log', name: cell });
    transcript.append('vm', {
      env: cell,
      image: image.name,
      imageId: image.imageId,
      isolation: 'vm',
      nic: 'none',
      accel: result.accel,
      qemu: result.qemu,
      kernel: result.kernel,
      guestRoot: { kind: result.guestRoot.kind, cached: result.guestRoot.cached, sha256: result.guestRoot.sha256, size: result.guestRoot.size, buildMs: result.guestRoot.buildMs, entries: result.guestRoot.entries, initrd: { sha256: result.guestRoot.initrd.sha256, size: result.guestRoot.initrd.size } },
      bootLog,
      bootMs: result.bootMs,
      totalMs: result.totalMs,
      policy: spec.policy,
      ...(result.guestError ? { guestError: result.guestError } : {}),
    });

    for (const [index, step] of spec.steps.entries()) {
      const r = result.steps[index];
      const pair = captures.get(index);
      if (!r || !pair) {
        if (pair) await Promise.allSettled([pair.out.done, pair.err.done]);
        outcome.steps.push(skipStep(ctx, cell, index, step));
        continue;
      }
      const [stdout, stderr] = await Promise.all([pair.out.done, pair.err.done]);
      const finished = await finishStep(ctx, cell, index, step, r, stdout, stderr);
      outcome.steps.push(finished);
    }
    if (result.guestError || outcome.steps.some((s) => s.verdict !== 'pass')) outcome.verdict = 'failed';
    for (const path of spec.outputs) {
      const entries = outputs.get(path);
      if (entries) recordOutputSet(ctx, cell, path, await entries, outcome);
    }
  } finally {
    for (const pair of captures.values()) {
      pair.out.sink.end();
      pair.err.sink.end();
    }
    await exporter?.remove();
    await rm(work, { recursive: true, force: true });
    transcript.append('teardown', { env: cell, vm: true, removed: true });
  }
  return outcome;
}
