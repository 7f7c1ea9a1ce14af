import { PassThrough, type Readable, type Writable } from 'node:stream';
import { AirlockError } from '../errors.js';
import type { Policy } from '../spec/schema.js';
import { isNotFound } from './client.js';
import type { Engine, EngineContainer } from './engine.js';
import { HELPER_MOUNT, hardenedCreate, policyMismatches, type HelperMount, type ReadbackHostConfig } from './hardening.js';
import { runLabels } from './labels.js';
import { DEFAULT_HOSTNAME, envList, variationEnv, type Variation } from './variation.js';

export interface SandboxOptions {
  runId: string;
  /** the cell's id (`env` or `env[matrix values]`) */
  cell: string;
  image: string;
  policy: Policy;
  env: Record<string, string>;
  workdir?: string;
  /** host path of the static busybox that keeps the cell alive and enforces step timeouts */
  helper: HelperMount;
  /** the keeper exits after this long, so a crashed controller never leaves a cell running forever */
  lifetimeMs: number;
  runtime?: string;
  /** the cell's internal services network (see engine/network.ts); none without services */
  network?: string;
  /** what `airlock repro` varies (hostname, time zone, locale, umask, user, CPUs, …) */
  variation?: Variation;
}

export interface ExecOptions {
  env?: Record<string, string>;
  timeoutMs: number;
  stdout: Writable;
  stderr: Writable;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
}

/**
 * PID 1 of a cell: a shell that waits for its lifetime `sleep` and, while waiting, reaps
 * every orphan reparented to it. A plain `sleep` as PID 1 never reaps: the processes a
 * killed step leaves become zombies that hold the pids limit, and the next step cannot fork.
 */
const KEEPER = ['sh', '-c', 'sleep "$0" & wait'];

/**
 * The step gets its environment in the order the engine passed it (the spec's
 * order, or reversed by the env-order variation): a shell hands its children
 * the variables in its own hash order, so the wrapper reads its environment as
 * passed (/proc/$$/environ) and starts the step through `env -i` with that list
 * (appended after the argv, then the argv rotated behind it). A program name
 * holding `=` would read as an assignment to env, so such a step keeps the
 * shell's order.
 */
const ORDERED_ENV =
  'case $1 in *=*) ;; *) n=$#; while IFS= read -r -d "" v; do set -- "$@" "$v"; done < /proc/$$/environ; ' +
  `while [ $n -gt 0 ]; do set -- "$@" "$1"; shift; n=$((n-1)); done; set -- ${HELPER_MOUNT} env -i "$@";; esac;`;

/**
 * How every step runs (`sh -c STEP_WRAPPER umask seconds argv...`): in its own session, so
 * its process group is known, with a watcher (in a session of its own) that kills the
 * whole group at the timeout; when the step ends — exit or timeout — whatever it left in
 * its group is killed (a few passes, for a fork bomb still forking) and the watcher with
 * it. A step's processes end with it. Only ash builtins and the helper are used: the
 * image may have neither `setsid` nor `sleep`.
 */
const STEP_WRAPPER =
  `[ -z "$0" ] || umask "$0" || exit 125; t=$1; shift; ${ORDERED_ENV} ${HELPER_MOUNT} setsid "$@" & p=$!; ` +
  `${HELPER_MOUNT} setsid ${HELPER_MOUNT} sh -c '${HELPER_MOUNT} sleep "$0"; kill -9 -"$1"' "$t" "$p" & w=$!; ` +
  'wait $p; s=$?; kill -9 -$w 2>/dev/null; for i in 1 2 3 4 5 6 7 8; do kill -9 -$p 2>/dev/null || break; done; exit $s';

/** A step killed at its timeout (SIGKILL to its process group) has status 128 + 9. */
const KILLED = 137;
/** How long past a step's timeout the controller waits before killing the whole cell itself. */
const BACKSTOP_MS = 5_000;


/**
 * One sealed cell: a container created with the hardened HostConfig, checked
 * against the engine's read-back before it may start, in which steps run as
 * argv through the engine's exec API.
 */
export class Sandbox {
  private constructor(
    private readonly container: EngineContainer,
    readonly hostConfig: ReadbackHostConfig,
    /** the user the engine reports the cell runs as (Config.User) */
    readonly user: string,
    readonly options: SandboxOptions,
  ) {}

  get id(): string {
    return this.container.id;
  }

  /** Creates the container, reads its HostConfig back and refuses (removing it) when it differs from the policy. */
  static async create(engine: Engine, options: SandboxOptions): Promise<Sandbox> {
    const v = options.variation;
    const hardening = {
      policy: options.policy,
      helper: options.helper,
      ...(options.runtime ? { runtime: options.runtime } : {}),
      ...(options.network ? { network: options.network } : {}),
      ...(v?.user ? { user: v.user } : {}),
    };
    const { HostConfig: hostConfig, User } = hardenedCreate(hardening);
    const workdir = options.workdir ?? v?.workdir;
    const container = await engine.containers.create({
      Image: options.image,
      Entrypoint: [HELPER_MOUNT],
      Cmd: [...KEEPER, String(Math.ceil(options.lifetimeMs / 1000))],
      User,
      Env: envList({ ...options.env, ...variationEnv(v) }, v),
      // A fixed hostname by default: the engine's default is the container id, which differs every run.
      Hostname: v?.hostname ?? DEFAULT_HOSTNAME,
      ...(v?.domainname ? { Domainname: v.domainname } : {}),
      ...(workdir ? { WorkingDir: workdir } : {}),
      Labels: { ...runLabels(options.runId, 'cell'), 'dev.airlock.env': options.cell },
      NetworkDisabled: options.network === undefined,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: false,
      HostConfig: { ...hostConfig, ...(v?.cpuset ? { CpusetCpus: v.cpuset } : {}) },
    });
    const info = await container.inspect();
    const readback = info.HostConfig;
    const problems = policyMismatches(hardening, readback, info.Config.User);
    const sandbox = new Sandbox(container, readback, info.Config.User, options);
    if (problems.length > 0) {
      await sandbox.remove();
      throw new AirlockError('POLICY_VIOLATION', `the engine did not apply the policy for environment ${options.cell}:\n  ${problems.join('\n  ')}`, {
        details: { env: options.cell, problems, hostConfig: readback },
      });
    }
    await container.start();
    return sandbox;
  }

  /** Runs argv in the cell, streaming stdout and stderr separately; never throws for a non-zero exit. */
  async exec(argv: string[], opts: ExecOptions): Promise<ExecResult> {
    const started = performance.now();
    const seconds = Math.max(1, Math.ceil(opts.timeoutMs / 1000));
    // argv untouched, after the wrapper's own arguments: the umask (a repro variation, or '') and the timeout in seconds
    const umask = this.options.variation?.umask ?? '';
    const exec = await this.container.exec({
      Cmd: [HELPER_MOUNT, 'sh', '-c', STEP_WRAPPER, umask, String(seconds), ...argv],
      Env: envList({ ...(opts.env ?? {}), ...variationEnv(this.options.variation) }, this.options.variation),
    });
    const stream = await exec.start(opts.stdout, opts.stderr);
    let killedByController = false;
    const kill = () => {
      killedByController = true;
      this.container.kill('SIGKILL').catch(() => undefined);
    };
    const backstop = setTimeout(kill, seconds * 1000 + BACKSTOP_MS);
    opts.signal?.addEventListener('abort', kill, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      });
    } finally {
      clearTimeout(backstop);
      opts.signal?.removeEventListener('abort', kill);
      opts.stdout.end();
      opts.stderr.end();
    }
    const durationMs = Math.round(performance.now() - started);
    if (opts.signal?.aborted) throw new AirlockError('INTERRUPTED', 'interrupted');
    const info = await exec.inspect();
    const exitCode = info.ExitCode ?? (killedByController ? KILLED : -1);
    const timedOut = killedByController || (exitCode === KILLED && durationMs >= seconds * 1000 - 50);
    return { exitCode, timedOut, durationMs };
  }

  /**
   * Streams `path` out of the running cell as a tar (the cell's own tar, run by
   * the helper), because the engine's archive API cannot see tmpfs mounts.
   */
  async archive(path: string): Promise<{ tar: Readable; done: Promise<void> }> {
    const tar = new PassThrough();
    const stderr = new PassThrough();
    let errText = '';
    stderr.on('data', (c: Buffer) => (errText += c.toString('utf8')));
    const done = this.exec([HELPER_MOUNT, 'tar', '-cf', '-', '-C', path, '.'], {
      timeoutMs: 300_000,
      stdout: tar,
      stderr,
    }).then((r) => {
      if (r.exitCode !== 0) {
        throw new AirlockError('STEP_FAILED', `could not collect output ${path} from environment ${this.options.cell}: ${errText.trim() || `tar exited ${r.exitCode}`}`, {
          details: { env: this.options.cell, path, exitCode: r.exitCode },
        });
      }
    });
    return { tar, done };
  }

  async remove(): Promise<void> {
    try {
      await this.container.remove({ force: true, volumes: true });
    } catch (e) {
      if (!isNotFound(e) && !/already in progress/.test(String((e as Error).message))) throw e;
    }
  }
}
