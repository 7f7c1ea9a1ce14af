/**
 * Turns zod's issues into problems a person can act on: one line each, with the spec path,
 * what was expected and what was found. Positions are added later by `locate.ts`.
 */
import type { z } from 'zod';

type Path = readonly PropertyKey[];

/** A problem before it has a YAML position. `onKey` positions it at the key of the last path segment. */
export interface PathIssue {
  path: Path;
  message: string;
  onKey?: boolean;
}

/** The YAML-flavoured kind of a value: "mapping", "array", "string", "null", ... */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  // YAML's .inf and .nan are numbers to JavaScript, but not what "a number" means here.
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : 'infinity';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'mapping';
  return typeof v;
}

/** A value as it would appear in a message: strings quoted, collections by kind. */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return kindOf(v);
}

/** ` (did you mean "image"?)` when a candidate is within a couple of edits of `word`, else "". */
export function didYouMean(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  // Optimal string alignment: a transposition ("imgae") counts as one edit.
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      d[i]![j] = v;
    }
  }
  return at(a.length, b.length);
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'an array',
  object: 'a mapping',
  record: 'a mapping',
};

/**
 * The messages for issues whose schema does not carry its own. Passed to `safeParse` rather
 * than installed with `z.config`, so other users of zod in the process are unaffected.
 */
export const humanErrorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type': {
      const got = iss.expected === 'int' && typeof iss.input === 'number' ? String(iss.input) : kindOf(iss.input);
      return `expected ${EXPECTED[iss.expected] ?? iss.expected}, got ${got}`;
    }
    case 'invalid_value':
      return iss.values.length === 1
        ? `expected ${show(iss.values[0])}, got ${show(iss.input)}`
        : `expected one of ${iss.values.map(show).join(', ')}, got ${show(iss.input)}`;
    case 'too_small':
      if (iss.origin === 'array' || iss.origin === 'string') {
        return Number(iss.minimum) <= 1 ? 'must not be empty' : `must have at least ${iss.minimum} items`;
      }
      return `must be ${iss.inclusive ? 'at least' : 'greater than'} ${iss.minimum}, got ${show(iss.input)}`;
    case 'too_big':
      return `must be ${iss.inclusive ? 'at most' : 'less than'} ${iss.maximum}, got ${show(iss.input)}`;
    case 'unrecognized_keys': {
      // One line per key, in `keys` order; `fromZod` splits them into separate problems.
      const def = (iss.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def;
      const known = Object.keys(def?.shape ?? {});
      return iss.keys.map((k) => `unknown key "${k}"${didYouMean(k, known)}`).join('\n');
    }
    case 'invalid_format':
      return `${show(iss.input)} is not in the expected format`;
    case 'invalid_union':
      return `${show(iss.input)} does not match any of the allowed forms`;
    default:
      return undefined;
  }
};

/**
 * Flattens zod issues into one problem per offending node: unknown keys become one problem per
 * key, invalid record keys point at the key, and a failed union reports the errors of the one
 * alternative the value was evidently meant to be, or the union's own message if that is unclear.
 */
export function fromZod(issues: readonly z.core.$ZodIssue[], prefix: Path = []): PathIssue[] {
  const out: PathIssue[] = [];
  for (const iss of issues) {
    const path = [...prefix, ...iss.path];
    switch (iss.code) {
      case 'unrecognized_keys':
        iss.message.split('\n').forEach((message, i) => {
          const key = iss.keys[i];
          if (key !== undefined) out.push({ path: [...path, key], message, onKey: true });
        });
        break;
      case 'invalid_key':
        for (const sub of fromZod(iss.issues)) out.push({ path, message: sub.message, onKey: true });
        break;
      case 'invalid_union': {
        const branch = intendedBranch(iss.errors);
        if (branch !== undefined) out.push(...fromZod(branch, path));
        else out.push({ path, message: missing(iss, path) ?? iss.message });
        break;
      }
      default:
        out.push({ path, message: missing(iss, path) ?? iss.message });
    }
  }
  return out;
}

function missing(iss: z.core.$ZodIssue, path: Path): string | undefined {
  if (iss.input !== undefined || iss.code === 'custom') return undefined;
  const key = path[path.length - 1];
  return key === undefined ? undefined : `missing required key "${String(key)}"`;
}

/**
 * The alternative whose type matched the value (no type error at its root) and that failed on
 * the fewest points, if exactly one does.
 */
function intendedBranch(errors: readonly (readonly z.core.$ZodIssue[])[]): z.core.$ZodIssue[] | undefined {
  const candidates = errors.filter((errs) => !errs.some((e) => e.code === 'invalid_type' && e.path.length === 0));
  const fewest = Math.min(...candidates.map((errs) => errs.length));
  const best = candidates.filter((errs) => errs.length === fewest);
  return best.length === 1 ? [...best[0]!] : undefined;
}

/** `environments.smoke.steps[1].run`; keys that are not plain words are quoted: `images["my.img"]`. */
export function formatPath(path: Path): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) s += s === '' ? seg : `.${seg}`;
    else s += `[${JSON.stringify(String(seg))}]`;
  }
  return s;
}
