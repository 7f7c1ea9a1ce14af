import { createRequire } from 'node:module';
import type { StatusLine } from './status-line.js';

/**
 * Progress of long work. Human lines go to stderr (so stdout stays clean for
 * results); with `--json`, one JSON object per line goes to stdout instead, for
 * machines following a run live.
 */
export interface ProgressEvent {
  type: string;
  [key: string]: unknown;
}

export interface Reporter {
  event(e: ProgressEvent): void;
  /** a line for people; dropped in JSON mode (the event carries the facts) */
  info(line: string): void;
  /** the step names of each environment, so the status line can name the step a cell is running */
  steps?(byEnvironment: Record<string, string[]>): void;
  /** stops what the reporter keeps drawing (the live status line); lines after it are plain */
  close?(): void;
}

export function jsonReporter(out: NodeJS.WritableStream = process.stdout): Reporter {
  return {
    event: (e) => out.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`),
    info: () => undefined,
  };
}

/**
 * Whether to colour what is written to a stream, by Node's own rule (its docs on FORCE_COLOR;
 * util.inspect and node:test follow it): FORCE_COLOR set to '', 1, true, 2 or 3 turns colours on,
 * on a pipe too, and NO_COLOR is then ignored; any other FORCE_COLOR value (0, false) turns
 * them off. Otherwise NO_COLOR, when set and not empty (no-color.org), or TERM=dumb turns them
 * off, and a terminal gets them.
 */
export function colorEnabled(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return ['', '1', 'true', '2', '3'].includes(force);
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return isTTY;
}

/**
 * Whether to draw the live status line: on a terminal that can move its cursor, outside CI
 * (whose logs keep every byte). Colours do not decide it: FORCE_COLOR on a pipe colours plain lines.
 */
export function liveStatusEnabled(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return isTTY && env.TERM !== 'dumb' && !ci;
}

/** What the status line shows: cell counts, the elapsed time, and what each running cell is doing since when. */
export class CellTally {
  readonly #states = new Map<string, string>();
  /** running cells only: when their current phase began and how many steps they finished */
  readonly #running = new Map<string, { since: number; steps: number; inSteps: boolean }>();
  readonly #started: number;
  /** step names by environment, when known; a cell `env[axis=value]` runs the steps of `env` */
  #stepNames: Record<string, string[]> = {};

  constructor(now: number) {
    this.#started = now;
  }

  steps(byEnvironment: Record<string, string[]>): void {
    this.#stepNames = byEnvironment;
  }

  /** Takes one event in; true when it changed what the line shows. */
  note(e: ProgressEvent, now: number): boolean {
    const cell = String(e.type === 'env-started' || e.type === 'step-finished' ? e.env : e.cell);
    switch (e.type) {
      case 'cell-queued':
        this.#states.set(cell, 'queued');
        return true;
      case 'cell-started':
        this.#states.set(cell, 'running');
        this.#running.set(cell, { since: now, steps: 0, inSteps: false });
        return true;
      case 'env-started':
      case 'step-finished': {
        const r = this.#running.get(cell);
        if (r === undefined) return false;
        // steps run one after the other from the environment's start: a step begins when the last ended
        if (e.type === 'step-finished') r.steps += 1;
        r.inSteps = e.type === 'env-started' || e.verdict === 'pass';
        r.since = now;
        return true;
      }
      case 'cell-finished':
        this.#states.set(cell, String(e.status));
        this.#running.delete(cell);
        return true;
      default:
        return false;
    }
  }

  /** whether any cell was seen */
  get active(): boolean {
    return this.#states.size > 0;
  }

  /** whether a cell is queued or running */
  get pending(): boolean {
    return [...this.#states.values()].some((s) => s === 'queued' || s === 'running');
  }

  line(now: number): string {
    const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
    const counts = ['queued', 'running', 'cached', 'passed', 'failed', 'skipped', 'error']
      .map((s) => [s, [...this.#states.values()].filter((v) => v === s).length] as const)
      .filter(([s, n]) => n > 0 || s === 'running')
      .map(([s, n]) => `${n} ${s}`);
    const running = [...this.#running].map(([cell, r]) => {
      const names = Object.hasOwn(this.#stepNames, envOf(cell)) ? this.#stepNames[envOf(cell)] : undefined;
      // past the last step (outputs, teardown) or after a failure: finishing
      const step = !r.inSteps ? undefined : names === undefined ? `step ${r.steps + 1}` : names[r.steps];
      const what = step ?? (r.steps > 0 ? 'finishing' : 'starting');
      return `${cell} ${what} ${secs(now - r.since)}`;
    });
    return [`cells: ${counts.join(' · ')} · ${(Math.max(0, now - this.#started) / 1000).toFixed(0)}s`, ...(running.length > 0 ? [running.join(' · ')] : [])].join(' │ ');
  }
}

/** The environment a cell runs: `test` for `test[opt=-O2]` (environment names never hold `[`). */
function envOf(cell: string): string {
  const i = cell.indexOf('[');
  return i < 0 ? cell : cell.slice(0, i);
}

/** How often the status line is redrawn, so running steps' times advance between events. */
const REDRAW_MS = 250;

/**
 * For people: one line per step and build, and on a terminal (not in CI) a live status line of
 * the cells (queued / running / cached / passed / failed, the elapsed time of each running
 * step) kept below them, redrawn every 250 ms and fitted to the terminal's width so it never
 * wraps; no status line on a pipe. Colours follow `colorEnabled` (NO_COLOR, FORCE_COLOR).
 */
export function humanReporter(err: NodeJS.WritableStream = process.stderr, env: NodeJS.ProcessEnv = process.env): Reporter {
  const tty = (err as NodeJS.WriteStream).isTTY === true;
  const live = liveStatusEnabled(env, tty);
  const paint = painter(colorEnabled(env, tty));
  const tally = new CellTally(Date.now());
  // loaded on the first cell event, on a live terminal only (status-line.ts says why)
  let status: StatusLine | undefined;
  let loading: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    status?.clear();
  };
  const redraw = () => {
    if (closed || status === undefined) return;
    if (!tally.pending) return stop();
    status.show(paint('bold', tally.line(Date.now())));
    // unref'd: the line never keeps the process alive
    timer ??= setInterval(redraw, REDRAW_MS).unref();
  };
  const write = (text: string) => {
    status?.clear();
    err.write(text);
    redraw();
  };
  const startLive = () => {
    loading ??= import('./status-line.js').then(
      (m) => {
        if (closed) return;
        status = m.statusLine(err as NodeJS.WriteStream);
        redraw();
      },
      // the status line is a nicety: without it, the lines still come
      () => undefined,
    );
  };
  return {
    event: (e) => {
      const counted = tally.note(e, Date.now());
      if (counted && live && tally.pending) startLive();
      const line = describe(e, paint);
      if (line !== undefined) write(`${line}\n`);
      else if (counted) redraw();
    },
    info: (line) => write(`${line}\n`),
    steps: (byEnvironment) => tally.steps(byEnvironment),
    close: () => {
      closed = true;
      stop();
    },
  };
}

export const silentReporter: Reporter = { event: () => undefined, info: () => undefined };

type Style = 'bold' | 'dim' | 'green' | 'red' | 'yellow';
type Paint = (style: Style, s: string) => string;

type Picocolors = typeof import('picocolors');

/**
 * Colours by picocolors: tiny, no dependencies, and switched on or off by our decision
 * (`colorEnabled`) rather than its own guess. Required on the first coloured line, so commands
 * that print none (help, verify on a pipe) load no package for it.
 */
function painter(enabled: boolean): Paint {
  if (!enabled) return (_style, s) => s;
  let colors: ReturnType<Picocolors['createColors']> | undefined;
  return (style, s) => {
    colors ??= (createRequire(import.meta.url)('picocolors') as Picocolors).createColors(true);
    return colors[style](s);
  };
}

function describe(e: ProgressEvent, paint: Paint): string | undefined {
  const ms = (v: unknown) => (typeof v === 'number' ? ` ${(v / 1000).toFixed(1)}s` : '');
  switch (e.type) {
    case 'run-started':
      return `airlock: run ${e.runId} of ${e.spec}`;
    case 'build-started':
      return `  build  ${e.image}${e.target ? ` (target ${e.target})` : ''}`;
    case 'build-line':
      // the engine's step headers are progress enough; the full log is in the CAS
      return /^Step \d+\/\d+ :/.test(String(e.line)) ? paint('dim', `         ${e.line}`) : undefined;
    case 'base-progress':
      return `  base   ${e.message}`;
    case 'build-finished':
      return `  built  ${e.image} ${String(e.imageId).slice(7, 19)} rootfs ${String(e.rootfsDigest).slice(7, 19)}${ms(e.durationMs)}`;
    case 'env-started':
      return `  env    ${e.env} (image ${e.image}, container ${String(e.containerId).slice(0, 12)})`;
    case 'step-finished': {
      const mark = e.verdict === 'pass' ? paint('green', 'PASS') : paint('red', String(e.verdict).toUpperCase());
      const failures = Array.isArray(e.failures) ? (e.failures as { message: string; diff?: string }[]) : [];
      const details = failures.map((f) => `           ${f.message}${f.diff ? `\n${f.diff.replace(/^/gm, '             ')}` : ''}`);
      return [`    ${mark} ${e.env}/${e.step} (exit ${e.exitCode})${ms(e.durationMs)}`, ...details].join('\n');
    }
    case 'step-skipped':
      return `    SKIP ${e.env}/${e.step} (an earlier step failed)`;
    case 'output-collected':
      return `    out  ${e.env}:${e.path} (${e.files} files, ${e.bytes} bytes)`;
    case 'cell-finished': {
      const status = String(e.status);
      const mark = status === 'passed' || status === 'cached' ? paint('green', status.toUpperCase()) : paint('red', status.toUpperCase());
      const why = e.status === 'cached' ? ` (from run ${e.cachedFrom})` : e.missReason === 'inputs-changed' ? ' (cache key changed: airlock explain tells which inputs)' : '';
      return `  cell   ${e.cell} ${mark}${ms(e.durationMs)}${why}`;
    }
    case 'service-ready':
      return `    svc  ${e.cell}/${e.service} ready after ${ms(e.afterMs).trim()} (${e.strategy})`;
    case 'warning':
      return paint('yellow', `  warn   ${e.message}`);
    case 'node-unreachable':
      return paint('yellow', `  node   ${e.node} (${e.endpoint}) does not answer, left out of the run: ${e.message}`);
    case 'cell-placed':
      return paint('dim', `  node   ${e.cell} on ${e.node}`);
    case 'cell-retried':
      return paint('yellow', `  retry  ${e.cell}: ${e.reason}; again on another engine`);
    case 'sealed':
      return `  sealed ${e.bundleDir} (key ${String(e.keyid).slice(0, 16)})`;
    default:
      return undefined;
  }
}
