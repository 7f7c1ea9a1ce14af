import { AirlockError } from '../errors.js';
import { canonicalJson } from '../proof/canonical-json.js';
import type { Cell } from './matrix.js';

/** Any `${{ … }}`; what is inside decides whether it is a matrix reference or an error. */
const EXPRESSION = /\$\{\{([\s\S]*?)\}\}/g;
/** `matrix.<axis>` with optional `.property` steps into an object value; nothing else. */
const MATRIX_REF = /^\s*matrix((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)\s*$/;

/**
 * Replaces every `${{ matrix.<axis> }}` (whitespace inside the braces is free) with the
 * cell's value: strings as they are, numbers and booleans as text, objects as canonical
 * JSON, null as the empty string (as GitHub does). `${{ matrix.axis.prop }}` reads a
 * property of an object value. Nothing else is evaluated: any other `${{ … }}` is an
 * error, so a GitHub expression pasted into a spec fails loudly instead of being run
 * with its braces left in. Substituted text is not scanned again.
 *
 * @param where the spec path of the value, named in errors
 */
export function interpolate(value: string, cell: Cell, where: string): string {
  // A `${{` no `}}` closes would otherwise reach the cell verbatim.
  const open = unterminatedIn(value);
  if (open >= 0) throw specError(where, `unterminated \${{ at offset ${open}`, { offset: open });
  return value.replace(EXPRESSION, (whole, inner: string) => {
    const ref = MATRIX_REF.exec(inner);
    if (!ref) {
      throw specError(where, `only \${{ matrix.<axis> }} can be used here, not ${JSON.stringify(whole)}`, { expression: whole });
    }
    const [axis, ...props] = ref[1]!.slice(1).split('.') as [string, ...string[]];
    if (!Object.hasOwn(cell, axis)) {
      const known = Object.keys(cell);
      throw specError(where, `\${{ matrix.${axis} }}: the matrix has no axis "${axis}" (axes: ${known.join(', ') || 'none'})`, { axis, known });
    }
    let v: unknown = cell[axis];
    let path = `matrix.${axis}`;
    for (const prop of props) {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, prop)) {
        throw specError(where, `\${{ ${path}.${prop} }}: ${path} has no property "${prop}" (its value is ${preview(v)})`, { path: `${path}.${prop}` });
      }
      v = (v as Record<string, unknown>)[prop];
      path += `.${prop}`;
    }
    return text(v);
  });
}

/** {@link interpolate} over every string in arrays and plain objects (values, not keys). */
export function interpolateDeep<T>(obj: T, cell: Cell, where: string): T {
  return walk(obj, cell, where) as T;
}

function walk(v: unknown, cell: Cell, where: string): unknown {
  if (typeof v === 'string') return interpolate(v, cell, where);
  if (Array.isArray(v)) return v.map((item, i) => walk(item, cell, `${where}[${i}]`));
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, cell, `${where}${propertyPath(k)}`)]));
  }
  return v;
}

function propertyPath(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Offset of a `${{` that no `}}` closes, or -1: only one after the last match can be. */
function unterminatedIn(value: string): number {
  const end = [...value.matchAll(EXPRESSION)].reduce((_, m) => m.index + m[0].length, 0);
  return value.indexOf('${{', end);
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return canonicalJson(v);
}

function preview(v: unknown): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

function specError(where: string, message: string, details: Record<string, unknown>): AirlockError {
  return new AirlockError('SPEC_INVALID', `${where}: ${message}`, { details: { ...details, issues: [{ path: where, message }] } });
}
