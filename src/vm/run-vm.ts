import * as fs from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

import { connectEngine } from '../engine/client.js';
import { Cas } from '../store/cas.js';
import { AirlockError } from '../errors.js';
import { probeAccel } from './accel.js';
import { encodeFrame, FrameDecoder, FrameError, FrameType } from './frame.js';
import { buildGuestRoot, GUEST_INIT, type GuestRoot } from './guest-root.js';
import { ensureInit } from './init-build.js';
import { resolveKernel, type ResolvedKernel } from './kernel.js';
import { findRoot, keepRoot, rootKey } from './root-cache.js';
import type { Digest } from '../util/digest.js';
import { DEFAULT_PATH, encodePlan, parseUser, planProblems, type GuestPlan } from './plan.js';
import { qemuArgv, qemuPath, qemuVersion } from './qemu.js';
import { GuestSession, ProtocolError, type SessionOutputResult } from './session.js';

export interface VmStep {
  name: string;
  argv: string[];
  env: Record<string, string>;
  timeoutMs: number;
  /** the exit code that lets the next step run (default 0); stdout/stderr expectations are the caller's */
  expectExit?: number;
}

export interface VmOptions {
  memoryBytes: number;
  cpus: number;
  accel: 'auto' | 'kvm' | 'tcg';
  /** hard wall-clock limit for the whole guest, from QEMU's start */
  timeoutMs: number;
  /** default `auto`: initramfs up to 256 MiB of content (and a third of memory), ext4 above */
  guestRoot?: 'auto' | 'initramfs' | 'ext4';
}

export interface VmRunRequest {
  /** filesystem tar of the cell image (e.g. `docker export` of a created container), or how to get it when the root is not kept */
  rootfs: Readable | (() => Promise<Readable>);
  /** keep the guest root in this CAS (index in `dir`) under the image's rootfs digest, and reuse it (root-cache.ts) */
  rootCache?: { cas: Cas; dir: string; rootfsDigest: Digest };
  /** host path of static busybox, placed in the guest at /.airlock/busybox */
  helper: string;
  steps: VmStep[];
  /** "uid:gid" steps run as (numeric) */
  user: string;
  workdir?: string;
  /** environment-level env (steps add theirs); PATH defaults to Docker's */
  env: Record<string, string>;
  /** absolute guest paths whose contents come back as tar streams */
  outputs: string[];
  vm: VmOptions;
  /** scratch dir for the guest root, socket and logs (the caller removes it) */
  workDir: string;
  stepSinks: (index: number) => { stdout: Writable; stderr: Writable };
  /** receives the tar of that output path; destroyed with STEP_FAILED when it cannot be made whole */
  outputSink: (path: string) => Writable;
  signal?: AbortSignal;
  /** writable tmpfs mounts (default ["/tmp", "/out"], the policy default) */
  tmpfs?: string[];
  /** default true */
  readOnlyRoot?: boolean;
  /** where the locked kernel .deb is kept; default airlock's own `artifacts/` */
  cas?: Cas;
  /** the guest kernel; default resolveKernel(cas) from airlock's own lock */
  kernel?: ResolvedKernel;
  /** host path of the compiled airlock-init; default ensureInit() into `<repo>/artifacts/vm` via the local engine */
  init?: string;
}

export interface VmStepResult {
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
}

export interface VmRunResult {
  /** null = not run (an earlier step failed, or the guest died) */
  steps: (VmStepResult | null)[];
  /** one per output the guest got to, in order */
  outputs: SessionOutputResult[];
  accel: { used: 'kvm' | 'tcg'; reason: string };
  qemu: { binary: string; version: string; argv: string[] };
  kernel: { path: string; sha256: string; version: string; release: string };
  guestRoot: {
    kind: 'initramfs' | 'ext4';
    path: string;
    sha256: string;
    size: number;
    buildMs: number;
    initrd: { path: string; sha256: string; size: number };
    entries: number;
    contentBytes: number;
    /** taken from the root cache: not built in this run */
    cached: boolean;
  };
  /** serial console log (the caller stores it as a blob) */
  bootLogPath: string;
  /** QEMU start to init's HELLO; -1 when the guest never said hello */
  bootMs: number;
  totalMs: number;
  /** set when the guest did not finish normally, e.g. killed at the wall-clock limit */
  guestError?: string;
}

export { probeAccel } from './accel.js';
export { resolveKernel } from './kernel.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_TMPFS = ['/tmp', '/out'];
/** Unix socket paths are limited to 108 bytes (sun_path). */
const MAX_SOCKET_PATH = 107;
/** The guest's own deadline trails the host's wall clock by this much, so the host's kill normally comes first. */
const GUEST_LIFETIME_GRACE_MS = 10_000;
/** After DONE the guest only syncs and powers off. */
const POWEROFF_GRACE_MS = 30_000;
/** After QEMU exits its socket closes as soon as the sinks took the rest; at least this long is allowed for that. */
const SOCKET_DRAIN_MS = 5_000;

/**
 * Runs a cell's steps in a QEMU guest with no network card: builds the guest root from
 * the image, boots it, hands airlock-init the plan over the channel, streams each step's
 * stdout/stderr and each output's tar to the caller's sinks, and always leaves no QEMU
 * behind. A guest that dies, stalls past `vm.timeoutMs` or breaks the protocol yields a
 * result with `guestError` and null steps; an abort throws INTERRUPTED.
 */
export async function runInVm(req: VmRunRequest): Promise<VmRunResult> {
  const started = performance.now();
  const { plan, kernel, accel, init, binary, version } = await prepare(req).catch((e: unknown) => {
    // nobody will read the image now: let its producer (e.g. `docker export`) go
    if (typeof req.rootfs !== 'function') req.rootfs.destroy();
    throw e;
  });

  await fs.mkdir(req.workDir, { recursive: true });
  const kind = req.vm.guestRoot ?? 'auto';
  const cache = req.rootCache;
  const key = cache
    ? await rootKey({ rootfsDigest: cache.rootfsDigest, helper: req.helper, init, modules: kernel.modules, kind, memoryBytes: req.vm.memoryBytes, gzip: false, stamps: join(cache.dir, '.digests.json') })
    : undefined;
  const kept = cache && key ? await findRoot(cache.cas, cache.dir, key) : undefined;
  if (kept && typeof req.rootfs !== 'function') req.rootfs.destroy();
  const root =
    kept ??
    (await buildGuestRoot({
      rootfs: typeof req.rootfs === 'function' ? await req.rootfs() : req.rootfs,
      helper: req.helper,
      init,
      modules: kernel.modules,
      workDir: req.workDir,
      kind,
      memoryBytes: req.vm.memoryBytes,
      ...(req.signal ? { signal: req.signal } : {}),
    }));
  if (!kept && cache && key) {
    await fs.mkdir(cache.dir, { recursive: true });
    await keepRoot(cache.cas, cache.dir, key, root);
  }

  const sockDir = await fs.mkdtemp(join(req.workDir, 'ch-'));
  const channelSocket = join(sockDir, 'channel.sock');
  if (Buffer.byteLength(channelSocket) > MAX_SOCKET_PATH) {
    throw new AirlockError('ENGINE_ERROR', `the VM work directory path is too long for a unix socket (${channelSocket}); use a shorter workDir`, {
      details: { workDir: req.workDir },
    });
  }
  const bootLogPath = join(req.workDir, 'boot.log');
  const argv = qemuArgv({
    accel: accel.used,
    memoryBytes: req.vm.memoryBytes,
    cpus: req.vm.cpus,
    kernel: kernel.path,
    initrd: root.initrd.path,
    ...(root.disk ? { disk: root.disk.path } : {}),
    consoleLog: bootLogPath,
    channelSocket,
    init: GUEST_INIT,
  });

  const outcome = await boot({ binary, argv, channelSocket, plan, req, workDir: req.workDir });
  await fs.rm(sockDir, { recursive: true, force: true });
  if (outcome.aborted) throw new AirlockError('INTERRUPTED', 'interrupted', { cause: req.signal?.reason });
  if (outcome.session.sinkError !== undefined) throw outcome.session.sinkError;

  return {
    steps: outcome.session.steps,
    outputs: outcome.session.outputs,
    accel,
    qemu: { binary, version, argv },
    kernel: { path: kernel.path, sha256: kernel.sha256, version: kernel.version, release: kernel.release },
    guestRoot: { ...rootFacts(root), cached: kept !== undefined },
    bootLogPath,
    bootMs: outcome.bootMs,
    totalMs: Math.round(performance.now() - started),
    ...(outcome.guestError !== undefined ? { guestError: outcome.guestError } : {}),
  };
}

/** Everything that can fail before the image is read: the request, kernel, accelerator, init, QEMU. */
async function prepare(req: VmRunRequest) {
  const plan = toPlan(req);
  req.signal?.throwIfAborted();
  const casRoot = req.cas?.root ?? join(REPO_ROOT, 'artifacts');
  const kernel = req.kernel ?? (await resolveKernel(req.cas ?? (await Cas.open(casRoot)), req.signal ? { signal: req.signal } : {}));
  const accel = await probeAccel(req.vm.accel, undefined, { kernel: kernel.path, busybox: req.helper });
  const init = req.init ?? (await ensureInit({ engine: connectEngine(), cacheDir: join(REPO_ROOT, 'artifacts', 'vm'), ...(req.signal ? { signal: req.signal } : {}) })).path;
  const binary = await qemuPath();
  const version = await qemuVersion(binary, join(casRoot, 'vm', 'qemu-version.json'));
  req.signal?.throwIfAborted();
  return { plan, kernel, accel, init, binary, version };
}

function rootFacts(r: GuestRoot): Omit<VmRunResult['guestRoot'], 'cached'> {
  return {
    kind: r.kind,
    path: r.path,
    sha256: r.sha256,
    size: r.size,
    buildMs: r.buildMs,
    initrd: { path: r.initrd.path, sha256: r.initrd.sha256, size: r.initrd.size },
    entries: r.entries,
    contentBytes: r.contentBytes,
  };
}

function toPlan(req: VmRunRequest): GuestPlan {
  const problems: string[] = [];
  let user = { uid: 65534, gid: 65534 };
  try {
    user = parseUser(req.user);
  } catch (e) {
    problems.push(`user: ${(e as Error).message}`);
  }
  const v = req.vm;
  if (!Number.isSafeInteger(v.memoryBytes) || v.memoryBytes < 128 * 1024 * 1024) problems.push(`vm.memoryBytes: expected an integer >= 128 MiB, got ${v.memoryBytes}`);
  if (!Number.isInteger(v.cpus) || v.cpus < 1 || v.cpus > 64) problems.push(`vm.cpus: expected an integer 1..64, got ${v.cpus}`);
  if (!Number.isSafeInteger(v.timeoutMs) || v.timeoutMs <= 0) problems.push(`vm.timeoutMs: expected an integer > 0, got ${v.timeoutMs}`);
  if (!['auto', 'kvm', 'tcg'].includes(v.accel)) problems.push(`vm.accel: expected auto, kvm or tcg, got ${String(v.accel)}`);
  const plan: GuestPlan = {
    ...user,
    workdir: req.workdir ?? '',
    readOnlyRoot: req.readOnlyRoot ?? true,
    lifetimeMs: Number.isSafeInteger(v.timeoutMs) ? v.timeoutMs + GUEST_LIFETIME_GRACE_MS : 0,
    tmpfs: req.tmpfs ?? DEFAULT_TMPFS,
    steps: req.steps.map((s) => ({
      name: s.name,
      argv: s.argv,
      env: { PATH: DEFAULT_PATH, ...req.env, ...s.env },
      timeoutMs: s.timeoutMs,
      expectExit: s.expectExit ?? 0,
    })),
    outputs: req.outputs,
  };
  problems.push(...planProblems(plan));
  if (problems.length > 0) throw new TypeError(`invalid VM run request:\n  ${problems.join('\n  ')}`);
  return plan;
}

interface BootOutcome {
  session: GuestSession;
  bootMs: number;
  guestError?: string;
  aborted: boolean;
}

/** Starts QEMU, serves the channel, and returns once QEMU is gone (killing it on every early exit). */
async function boot(o: { binary: string; argv: string[]; channelSocket: string; plan: GuestPlan; req: VmRunRequest; workDir: string }): Promise<BootOutcome> {
  const { req } = o;
  const session = new GuestSession(o.plan.steps.length, o.plan.outputs, req);
  const decoder = new FrameDecoder();
  let guestError: string | undefined;
  let aborted = false;
  let bootMs = -1;
  let socket: Socket | undefined;
  let socketClosed: Promise<void> = Promise.resolve();
  let proc: ResultPromise | undefined;
  let poweroffTimer: NodeJS.Timeout | undefined;
  let spawnedAt = 0;

  const fail = (message: string) => {
    guestError ??= message;
    proc?.kill('SIGKILL');
  };

  const server: Server = createServer({ pauseOnConnect: false }, (s) => {
    if (socket) {
      s.destroy();
      return;
    }
    socket = s;
    socketClosed = new Promise((resolve) => s.once('close', () => resolve()));
    s.on('error', () => undefined);
    s.write(encodeFrame({ type: FrameType.PLAN, payload: encodePlan(o.plan) }));
    s.on('data', (chunk: Buffer) => {
      const full = new Set<Writable>();
      try {
        for (const f of decoder.push(chunk)) {
          if (f.type === FrameType.HELLO && bootMs < 0) bootMs = Math.round(performance.now() - spawnedAt);
          const slow = session.handle(f);
          if (slow) full.add(slow);
          if (f.type === FrameType.DONE || f.type === FrameType.ERROR) s.write(encodeFrame({ type: FrameType.ACK }));
          if (session.done) poweroffTimer ??= setTimeout(() => fail('the guest did not power off after reporting'), POWEROFF_GRACE_MS);
        }
        if (full.size > 0) resumeWhenDrained(s, full);
      } catch (e) {
        // a FrameError, a ProtocolError, or a sink factory that threw: the session cannot go on
        s.destroy();
        fail(`${e instanceof ProtocolError || e instanceof FrameError ? 'protocol error on the airlock channel' : 'cannot take the guest report'}: ${(e as Error).message}`);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.channelSocket, () => resolve());
  });

  spawnedAt = performance.now();
  const onAbort = () => {
    aborted = true;
    proc?.kill('SIGKILL');
  };
  const wallClock = setTimeout(() => fail(`guest killed at the wall-clock limit of ${req.vm.timeoutMs} ms`), req.vm.timeoutMs);
  try {
    proc = execa(o.binary, o.argv, {
      reject: false,
      stdin: 'ignore',
      cwd: o.workDir,
      env: { TMPDIR: o.workDir },
      killSignal: 'SIGKILL',
      maxBuffer: 1024 * 1024,
      cleanup: true,
    });
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (req.signal?.aborted) onAbort();
    const r = await proc;
    // what QEMU wrote before it exited may still wait on a slow sink: give it the rest of the wall clock
    const left = Math.max(SOCKET_DRAIN_MS, req.vm.timeoutMs - (performance.now() - spawnedAt));
    await Promise.race([socketClosed, new Promise((resolve) => setTimeout(resolve, left).unref())]);
    if (!session.done && guestError === undefined) {
      const why = session.initError !== undefined
        ? `guest init failed: ${session.initError}`
        : socket === undefined
          ? `qemu exited (${r.exitCode ?? r.signal}) before the guest connected: ${lastLine(String(r.stderr))}`
          : decoder.pendingBytes > 0
            ? `the channel ended inside a frame (${decoder.pendingBytes} bytes of it arrived)`
            : `the guest stopped before reporting everything (qemu exit ${r.exitCode ?? r.signal})${r.stderr ? `: ${lastLine(String(r.stderr))}` : ''}`;
      guestError = why;
    }
    session.finish(guestError ?? 'the guest stopped');
  } finally {
    clearTimeout(wallClock);
    clearTimeout(poweroffTimer);
    req.signal?.removeEventListener('abort', onAbort);
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await proc.catch(() => undefined);
    }
    (socket as Socket | undefined)?.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return { session, bootMs, aborted, ...(guestError !== undefined ? { guestError } : {}) };
}

/** Backpressure: no more channel bytes until every full sink has drained (or is gone). */
function resumeWhenDrained(socket: Socket, sinks: Set<Writable>): void {
  socket.pause();
  for (const sink of sinks) {
    const go = () => {
      sink.off('drain', go);
      sink.off('close', go);
      sinks.delete(sink);
      if (sinks.size === 0) socket.resume();
    };
    sink.on('drain', go);
    sink.on('close', go);
  }
}

function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
}
