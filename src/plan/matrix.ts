import { AirlockError } from '../errors.js';
import { canonicalJson } from '../proof/canonical-json.js';

/**
 * A `strategy.matrix` as GitHub Actions defines it: axes (first one varies slowest),
 * then `exclude`, then `include`. See "Running variations of jobs in a workflow"
 * (docs.github.com) and GitHub's own MatrixBuilder, which this follows.
 */
export type AxisValue = string | number | boolean | Record<string, unknown>;

export interface MatrixSpec {
  axes: Record<string, AxisValue[]>;
  include?: Record<string, unknown>[];
  exclude?: Record<string, unknown>[];
}

/** One combination: axis name → value, plus the keys `include` added. */
export type Cell = Record<string, unknown>;

/** GitHub's limit on jobs per matrix; more is almost surely a spec mistake. */
export const MAX_CELLS = 256;
/** The most combinations the axes may multiply to before `exclude` (expansion is built in memory). */
export const MAX_COMBINATIONS = 4096;

/** A reason a matrix cannot be expanded; `path` is relative to the matrix. */
export interface MatrixProblem {
  path: (string | number)[];
  message: string;
}

/**
 * Expands a matrix exactly as GitHub Actions does:
 * 1. the cartesian product of the axes, first axis slowest (no axes: no product);
 * 2. `exclude`: drops every product cell that an entry matches (an entry matches when
 *    all its keys match; a partial entry drops every cell it matches);
 * 3. `include`, entry by entry: its axis keys are a filter, its other keys are extras.
 *    Every surviving product cell the filter matches gets the extras (later entries
 *    overwrite extras of earlier ones, never axis values); an entry that matched no
 *    product cell becomes a cell of its own, appended after the product.
 *
 * Deliberate differences from GitHub, both refusals of what GitHub accepts:
 * values compare strictly (GitHub's expression `==` ignores case and coerces '12' to 12),
 * and two cells with the same {@link cellId} are an error (they would be one cell here).
 *
 * @param where the spec path of the matrix, for error messages
 */
export function expandMatrix(m: MatrixSpec, where = 'matrix'): Cell[] {
  const { cells, problems } = expand(m);
  if (problems.length > 0) throw invalid(problems.map((p) => ({ path: where + p.path.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join(''), message: p.message })));
  return cells;
}

/** Every reason `expandMatrix` would refuse the matrix; the spec loader reports them with positions. */
export function matrixProblems(m: MatrixSpec): MatrixProblem[] {
  return expand(m).problems;
}

function expand(m: MatrixSpec): { cells: Cell[]; problems: MatrixProblem[] } {
  const axes = Object.entries(m.axes);
  const axisNames = new Set(axes.map(([name]) => name));
  const problems: MatrixProblem[] = [];
  const refuse = (path: MatrixProblem['path'], message: string) => ({ cells: [], problems: [...problems, { path, message }] });
  for (const [name, values] of axes) {
    if (!Array.isArray(values) || values.length === 0) problems.push({ path: ['axes', name], message: 'an axis needs at least one value' });
  }
  (m.exclude ?? []).forEach((entry, i) => {
    const keys = Object.keys(entry);
    if (keys.length === 0) problems.push({ path: ['exclude', i], message: 'an exclude entry must not be empty' });
    for (const key of keys) {
      if (!axisNames.has(key)) {
        problems.push({ path: ['exclude', i, key], message: `"${key}" is not an axis of the matrix (axes: ${[...axisNames].join(', ') || 'none'})` });
      }
    }
  });
  (m.include ?? []).forEach((entry, i) => {
    if (Object.keys(entry).length === 0) problems.push({ path: ['include', i], message: 'an include entry must not be empty' });
  });
  if (problems.length > 0) return { cells: [], problems };
  // Counted before the product is built: 8 axes of 10 values would not fit in memory.
  const combinations = axes.reduce((n, [, values]) => n * values.length, axes.length === 0 ? 0 : 1);
  if (combinations > MAX_COMBINATIONS) {
    return refuse(['axes'], `the axes multiply to ${combinations} combinations, more than the limit of ${MAX_COMBINATIONS} (and at most ${MAX_CELLS} cells may remain)`);
  }

  const product = axes.length === 0 ? [] : cartesian(axes);
  const kept = product.filter((cell) => !(m.exclude ?? []).some((entry) => matches(entry, cell)));

  const added: Cell[] = [];
  /** the include entry each added cell came from, to point at it */
  const addedBy: number[] = [];
  for (const [index, entry] of (m.include ?? []).entries()) {
    const filter: Cell = {};
    const extra: Cell = {};
    for (const [key, value] of Object.entries(entry)) (axisNames.has(key) ? filter : extra)[key] = value;
    let matched = false;
    for (const cell of kept) {
      // The filter sees only axis keys, so extras added by earlier entries never decide a match.
      if (matches(filter, cell)) {
        Object.assign(cell, extra);
        matched = true;
      }
    }
    if (!matched) {
      added.push({ ...entry });
      addedBy.push(index);
    }
  }

  const cells = [...kept, ...added];
  if (axes.length === 0 && added.length === 0) return refuse([], 'a matrix needs at least one axis or include entry');
  if (cells.length === 0) return refuse(['exclude'], 'the matrix has no cells left (every combination is excluded)');
  if (cells.length > MAX_CELLS) return refuse([], `the matrix has ${cells.length} cells, more than the limit of ${MAX_CELLS}`);
  const seen = new Map<string, number>();
  cells.forEach((cell, i) => {
    const id = cellId(cell);
    const first = seen.get(id);
    if (first !== undefined) problems.push({ path: i >= kept.length ? ['include', addedBy[i - kept.length]!] : [], message: `cells ${first + 1} and ${i + 1} are the same cell (${id})` });
    else seen.set(id, i);
  });
  return { cells: problems.length > 0 ? [] : cells, problems };
}

function cartesian(axes: [string, AxisValue[]][]): Cell[] {
  let cells: Cell[] = [{}];
  for (const [name, values] of axes) cells = cells.flatMap((cell) => values.map((value) => ({ ...cell, [name]: value })));
  return cells;
}

/**
 * GitHub compares a filter leaf by leaf (`matrix.a.b == 12` for every leaf of the
 * filter), so nested mappings match partially and sequences index by index.
 */
function matches(filter: unknown, value: unknown): boolean {
  if (isPlainObject(filter)) {
    return isPlainObject(value) && Object.entries(filter).every(([k, f]) => matches(f, value[k]));
  }
  if (Array.isArray(filter)) {
    return Array.isArray(value) && filter.every((f, i) => matches(f, value[i]));
  }
  if (filter === null) return value === null || value === undefined;
  return filter === value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(issues: { path: string; message: string }[]): AirlockError {
  return new AirlockError('SPEC_INVALID', issues.map((i) => `${i.path}: ${i.message}`).join('\n'), { details: { issues } });
}

/** A string is shown bare when that cannot be mistaken for structure. */
const BARE = /^[^\s,="{}[\]\\][^,="\\\p{Cc}]*$/u;

/** How a key or value is written in a cell id: bare when unambiguous, JSON otherwise. */
export function formatCellValue(v: unknown): string {
  if (typeof v === 'string') return BARE.test(v) && v.trimEnd() === v ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return canonicalJson(v);
}

/**
 * A stable, human id: `cc=gcc,opt=-O2` — keys sorted, strings bare unless they hold
 * `,` `=` `"` or edge whitespace (then JSON-quoted), objects as canonical JSON.
 */
export function cellId(cell: Cell): string {
  return Object.keys(cell)
    .sort()
    .map((k) => `${formatCellValue(k)}=${formatCellValue(cell[k])}`)
    .join(',');
}

/**
 * Parses `airlock matrix --cell cc=gcc,opt=-O2` into key → value text. Keys and values
 * may be JSON-quoted (`msg="a,b"`); a value may be a JSON object or array.
 */
export function parseCellSelector(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const fail = (why: string): never => {
    throw new AirlockError('USAGE', `cell selector ${JSON.stringify(s)}: ${why} (expected key=value[,key=value…], e.g. cc=gcc,opt=-O2)`);
  };
  const skipSpace = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const readQuoted = (): string => {
    const start = i;
    i++;
    while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
    if (i >= s.length) fail(`unterminated quote at ${start}`);
    i++;
    try {
      return JSON.parse(s.slice(start, i)) as string;
    } catch {
      return fail(`bad quoted text at ${start}`);
    }
  };
  const readBracketed = (): string => {
    const start = i;
    let depth = 0;
    while (i < s.length) {
      const c = s[i]!;
      if (c === '"') {
        readQuoted();
        continue;
      }
      if (c === '{' || c === '[') depth++;
      if (c === '}' || c === ']') depth--;
      i++;
      if (depth === 0) break;
    }
    if (depth !== 0) fail(`unbalanced brackets at ${start}`);
    return s.slice(start, i);
  };
  const readBare = (stops: string): string => {
    const start = i;
    while (i < s.length && !stops.includes(s[i]!)) i++;
    return s.slice(start, i).trim();
  };

  if (s.trim() === '') fail('empty');
  while (i < s.length) {
    skipSpace();
    const key = s[i] === '"' ? readQuoted() : readBare('=,');
    skipSpace();
    if (key === '') fail(`missing key at ${i}`);
    if (s[i] !== '=') fail(`missing "=" after ${JSON.stringify(key)}`);
    i++;
    skipSpace();
    let value: string;
    if (s[i] === '"') value = readQuoted();
    else if (s[i] === '{' || s[i] === '[') value = readBracketed();
    else value = readBare(',');
    skipSpace();
    if (i < s.length && s[i] !== ',') fail(`unexpected ${JSON.stringify(s[i])} at ${i}`);
    i++;
    if (i === s.length && s.endsWith(',')) fail('trailing ","');
    if (Object.hasOwn(out, key)) fail(`${JSON.stringify(key)} given twice`);
    out[key] = value;
  }
  return out;
}

/**
 * The cells a selector picks: every selector key must match the cell's value
 * (strings by text, numbers and booleans by their text, objects by canonical JSON).
 * A key no cell has is a usage error, so a typo does not silently select nothing.
 */
export function matchCells(cells: Cell[], selector: Record<string, string>): Cell[] {
  const known = new Set(cells.flatMap((c) => Object.keys(c)));
  const unknown = Object.keys(selector).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new AirlockError('USAGE', `no key ${unknown.map((k) => JSON.stringify(k)).join(', ')} in the matrix (keys: ${[...known].join(', ') || 'none'})`, {
      details: { unknown, known: [...known] },
    });
  }
  return cells.filter((cell) => Object.entries(selector).every(([k, want]) => Object.hasOwn(cell, k) && valueMatches(cell[k], want)));
}

function valueMatches(value: unknown, want: string): boolean {
  if (typeof value === 'string') return value === want;
  if (typeof value === 'object' && value !== null) {
    try {
      return canonicalJson(JSON.parse(want)) === canonicalJson(value);
    } catch {
      return false;
    }
  }
  return formatCellValue(value) === want;
}
