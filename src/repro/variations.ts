import { DEFAULT_HOSTNAME, type Variation } from '../engine/variation.js';
import { AirlockError } from '../errors.js';

/**
 * What `airlock repro` varies between runs, after reprotest: run 1 is airlock's
 * defaults, every later run varies every selected dimension that applies. Each
 * dimension says whether it is on, off (not selected) or not applicable, and why.
 */
export const DIMENSIONS = ['hostname', 'tz', 'locale', 'umask', 'user', 'cpuset', 'workdir', 'env-order', 'time', 'faketime'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export type DimensionStatus = 'on' | 'off' | 'not-applicable';

export interface DimensionPlan {
  dimension: Dimension;
  status: DimensionStatus;
  /** why it is off or not applicable, or what it does */
  reason: string;
  /** what each run had, for people (index 0 = run 1) */
  values: string[];
}

/** What decides which dimensions apply: the engine, the cells that will run, the images they run in. */
export interface VariationFacts {
  /** how many runs (>= 2) */
  runs: number;
  /** CPUs the engine has */
  cpus: number;
  /** the cells that run: their policy user, their own workdir, their isolation */
  cells: readonly { id: string; user: string; workdir?: string; isolation: string }[];
  /** where an image carries libfaketime; undefined when none does */
  faketimeLibrary?: string;
}

export interface VariationPlan {
  dimensions: DimensionPlan[];
  /** the variation of each run; run 1's is always undefined (airlock's defaults) */
  perRun: (Variation | undefined)[];
  /** pause before each run after the first, so clocks read in two runs differ by at least a second */
  sleepMs: number;
}

/** Time zones as POSIX TZ strings (they work without tzdata, e.g. on busybox) with their IANA names. */
const ZONES = [
  { tz: '<+14>-14', iana: 'Etc/GMT-14' },
  { tz: '<-12>+12', iana: 'Etc/GMT+12' },
] as const;
const LOCALES = ['en_US.UTF-8', 'C.UTF-8'] as const;
const UMASKS = ['0077', '0002'] as const;
const USERS = ['12345:12345', '23456:23456'] as const;
const FAKETIME = '+380d';
export const SLEEP_BETWEEN_RUNS_MS = 1_100;

/** The IANA name of a TZ value this module sets (what a reader of the report and the cause finder understand). */
export function ianaZone(tz: string | undefined): string {
  if (tz === undefined || tz === '') return 'UTC';
  return ZONES.find((z) => z.tz === tz)?.iana ?? tz;
}

/** `--vary hostname,tz` → the set; `all` (the default) or `none` stand for every or no dimension. */
export function parseVary(text: string | undefined): Set<Dimension> {
  if (text === undefined || text.trim() === '' || text.trim() === 'all') return new Set(DIMENSIONS);
  if (text.trim() === 'none') return new Set();
  const aliases: Record<string, Dimension> = { domainname: 'hostname', env: 'env-order', uid: 'user', 'build-path': 'workdir', clock: 'time' };
  const out = new Set<Dimension>();
  const unknown: string[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    const dim = (DIMENSIONS as readonly string[]).includes(name) ? (name as Dimension) : aliases[name];
    if (dim === undefined) unknown.push(name);
    else out.add(dim);
  }
  if (unknown.length > 0) {
    throw new AirlockError('USAGE', `--vary: unknown dimension ${unknown.map((u) => `"${u}"`).join(', ')} (known: ${DIMENSIONS.join(', ')}, or all, none)`);
  }
  return out;
}

/** Whether a policy user ("uid[:gid]" or a name) is root. */
export function isRootUser(user: string): boolean {
  const uid = user.split(':')[0] ?? '';
  return uid === '0' || uid === 'root';
}

/** The alternative value for run `run` (2, 3, …): runs after the first cycle through the list. */
function alt<T>(values: readonly T[], run: number): T {
  return values[(run - 2) % values.length]!;
}

/**
 * Which dimensions apply and what each run gets. Everything is compared with run 1,
 * so a later run only has to differ from the defaults; with more runs the values
 * cycle through the alternatives.
 */
export function planVariations(selected: ReadonlySet<Dimension>, facts: VariationFacts): VariationPlan {
  if (!Number.isSafeInteger(facts.runs) || facts.runs < 2) throw new TypeError(`Expected \`runs\` to be an integer >= 2, got \`${String(facts.runs)}\``);
  const later = Array.from({ length: facts.runs - 1 }, (_, i) => i + 2);
  const dims: DimensionPlan[] = [];
  const perRun: Variation[] = later.map(() => ({}));
  // a VM guest runs its own init from a plan that carries no variation: only the clock differs there
  const vmCells = facts.cells.filter((c) => c.isolation === 'vm').map((c) => c.id);
  const allVm = facts.cells.length > 0 && vmCells.length === facts.cells.length;
  const plan = (dimension: Dimension, applies: string | undefined, reason: string, defaults: string, value: (run: number, v: Variation) => string): void => {
    if (!selected.has(dimension)) {
      dims.push({ dimension, status: 'off', reason: 'not selected by --vary', values: [] });
      return;
    }
    const cellLevel = dimension !== 'time';
    const notApplicable = applies ?? (cellLevel && allVm ? `every cell runs in a VM (${vmCells.join(', ')}), which takes no variations` : undefined);
    if (notApplicable !== undefined) {
      dims.push({ dimension, status: 'not-applicable', reason: notApplicable, values: [] });
      return;
    }
    const but = cellLevel && vmCells.length > 0 ? `; not applied in VM cells (${vmCells.join(', ')})` : '';
    dims.push({ dimension, status: 'on', reason: `${reason}${but}`, values: [defaults, ...later.map((run, i) => value(run, perRun[i]!))] });
  };

  plan('hostname', undefined, 'container hostname and domain name', `${DEFAULT_HOSTNAME} (no domain)`, (run, v) => {
    v.hostname = `repro-host-${run}`;
    v.domainname = 'repro.invalid';
    return `${v.hostname}.${v.domainname}`;
  });
  plan('tz', undefined, 'TZ of every step (POSIX form, so it works without tzdata)', 'UTC (TZ unset)', (run, v) => {
    const z = alt(ZONES, run);
    v.tz = z.tz;
    return `${z.tz} (${z.iana})`;
  });
  plan('locale', undefined, 'LANG and LC_ALL of every step (set even where the image has no locales, e.g. busybox)', 'unset (POSIX)', (run, v) => {
    v.locale = alt(LOCALES, run);
    return v.locale;
  });
  plan('umask', undefined, 'umask the steps start with', '0022 (engine default)', (run, v) => {
    v.umask = alt(UMASKS, run);
    return v.umask;
  });
  const rootCells = facts.cells.filter((c) => isRootUser(c.user));
  plan(
    'user',
    rootCells.length > 0 ? `cells ${rootCells.map((c) => c.id).join(', ')} run as root by policy: another uid could not do what root does` : undefined,
    'uid:gid replacing the policy user',
    [...new Set(facts.cells.map((c) => c.user))].join(', ') || 'policy user',
    (run, v) => {
      v.user = alt(USERS, run);
      return v.user;
    },
  );
  plan('cpuset', facts.cpus < 2 ? `the engine has ${facts.cpus} CPU: there is no other CPU set to run on` : undefined, 'the CPUs the cell may use', `all ${facts.cpus} CPUs (0-${facts.cpus - 1})`, (run, v) => {
    v.cpuset = String((run - 2) % facts.cpus);
    return v.cpuset;
  });
  const withWorkdir = facts.cells.filter((c) => c.workdir !== undefined);
  plan(
    'workdir',
    facts.cells.length > 0 && withWorkdir.length === facts.cells.length ? 'every cell sets its own workdir, which is kept' : undefined,
    withWorkdir.length > 0 ? `working directory of cells without one (${withWorkdir.map((c) => c.id).join(', ')} keep theirs)` : 'working directory of the steps',
    "the image's WORKDIR",
    (run, v) => {
      v.workdir = `/repro-workdir-${run}`;
      return v.workdir;
    },
  );
  plan('env-order', undefined, 'environment variables passed in reverse order', 'spec order', (_run, v) => {
    v.reverseEnvOrder = true;
    return 'reversed';
  });
  plan('time', undefined, `runs at different times: at least ${SLEEP_BETWEEN_RUNS_MS} ms apart, so clocks read in two runs differ`, 'the wall clock', () => 'the wall clock, later');
  plan(
    'faketime',
    facts.faketimeLibrary === undefined ? 'no image carries libfaketime (looked for libfaketime.so.1 in the rootfs listings of run 1): the clock cannot be shifted' : undefined,
    `FAKETIME for images with libfaketime (${facts.faketimeLibrary ?? ''})`,
    'the real clock',
    (_run, v) => {
      v.faketime = FAKETIME;
      if (facts.faketimeLibrary) v.faketimeLibrary = facts.faketimeLibrary;
      return `FAKETIME=${FAKETIME}`;
    },
  );

  return {
    dimensions: dims,
    perRun: [undefined, ...perRun],
    sleepMs: selected.has('time') ? SLEEP_BETWEEN_RUNS_MS : 0,
  };
}

/** Where an image's rootfs listing shows libfaketime, if it does. */
export function findFaketime(paths: Iterable<string>): string | undefined {
  for (const p of paths) if (/(^|\/)libfaketime(MT)?\.so\.1$/.test(p)) return `/${p}`;
  return undefined;
}
