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
}

export function jsonReporter(out: NodeJS.WritableStream = process.stdout): Reporter {
  return {
    event: (e) => out.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`),
    info: () => undefined,
  };
}

/** Cell counts for the live status line. */
class CellTally {
  readonly #states = new Map<string, string>();
  readonly #started = Date.now();

  note(e: ProgressEvent): boolean {
    if (e.type === 'cell-queued') this.#states.set(String(e.cell), 'queued');
    else if (e.type === 'cell-started') this.#states.set(String(e.cell), 'running');
    else if (e.type === 'cell-finished') this.#states.set(String(e.cell), String(e.status));
    else return false;
    return true;
  }

  get active(): boolean {
    return this.#states.size > 0;
  }

  line(): string {
    const count = (s: string) => [...this.#states.values()].filter((v) => v === s).length;
    const parts = ['queued', 'running', 'cached', 'passed', 'failed', 'skipped', 'error'].map((s) => `${count(s)} ${s}`);
    return `cells: ${parts.join(' · ')} · ${((Date.now() - this.#started) / 1000).toFixed(0)}s`;
  }
}

/**
 * For people: one line per step and build, and on a terminal (not CI=true) a
 * live status line of the cells (queued / running / cached / passed / failed,
 * elapsed) kept below them. NO_COLOR is honoured.
 */
export function humanReporter(err: NodeJS.WritableStream = process.stderr): Reporter {
  const tty = (err as NodeJS.WriteStream).isTTY === true;
  const live = tty && process.env.CI !== 'true';
  const color = !process.env.NO_COLOR && tty;
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const tally = new CellTally();
  let statusShown = false;
  const write = (text: string) => {
    if (statusShown) err.write('\r\x1b[K');
    err.write(text);
    statusShown = false;
  };
  const redraw = () => {
    if (!live || !tally.active) return;
    err.write(`\r\x1b[K${paint('1', tally.line())}`);
    statusShown = true;
  };
  return {
    event: (e) => {
      const counted = tally.note(e);
      const line = describe(e, paint);
      if (line !== undefined) write(`${line}\n`);
      if (counted || line !== undefined) redraw();
      if (e.type === 'sealed' && statusShown) write('\n');
    },
    info: (line) => write(`${line}\n`),
  };
}

export const silentReporter: Reporter = { event: () => undefined, info: () => undefined };

type Paint = (code: string, s: string) => string;

function describe(e: ProgressEvent, paint: Paint): string | undefined {
  const ms = (v: unknown) => (typeof v === 'number' ? ` ${(v / 1000).toFixed(1)}s` : '');
  switch (e.type) {
    case 'run-started':
      return `airlock: run ${e.runId} of ${e.spec}`;
    case 'build-started':
      return `  build  ${e.image}${e.target ? ` (target ${e.target})` : ''}`;
    case 'build-line':
      // the engine's step headers are progress enough; the full log is in the CAS
      return /^Step \d+\/\d+ :/.test(String(e.line)) ? paint('2', `         ${e.line}`) : undefined;
    case 'base-progress':
      return `  base   ${e.message}`;
    case 'build-finished':
      return `  built  ${e.image} ${String(e.imageId).slice(7, 19)} rootfs ${String(e.rootfsDigest).slice(7, 19)}${ms(e.durationMs)}`;
    case 'env-started':
      return `  env    ${e.env} (image ${e.image}, container ${String(e.containerId).slice(0, 12)})`;
    case 'step-finished': {
      const mark = e.verdict === 'pass' ? paint('32', 'PASS') : paint('31', String(e.verdict).toUpperCase());
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
      const mark = status === 'passed' || status === 'cached' ? paint('32', status.toUpperCase()) : paint('31', status.toUpperCase());
      const why = e.status === 'cached' ? ` (from run ${e.cachedFrom})` : e.missReason === 'inputs-changed' ? ' (cache key changed: airlock explain tells which inputs)' : '';
      return `  cell   ${e.cell} ${mark}${ms(e.durationMs)}${why}`;
    }
    case 'service-ready':
      return `    svc  ${e.cell}/${e.service} ready after ${ms(e.afterMs).trim()} (${e.strategy})`;
    case 'sealed':
      return `  sealed ${e.bundleDir} (key ${String(e.keyid).slice(0, 16)})`;
    default:
      return undefined;
  }
}
