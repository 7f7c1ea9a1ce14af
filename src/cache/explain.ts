import { canonicalJson } from '../proof/canonical-json.js';
import { cacheKey, type CacheKeyInputs } from './key.js';

export interface KeyChange {
  /** the top-level key component that changed */
  component: string;
  /** the changed leaf, e.g. `env.CFLAGS` or `argv[1][2]`; the component name when it is a leaf */
  path: string;
  /** the leaf's old and new values (undefined: absent) */
  old: unknown;
  new: unknown;
  /** one line for people: `env.CFLAGS: "-O2" -> "-O3"` */
  detail?: string;
}

/** More changed leaves than this in one component are summarized in one line. */
export const MAX_LEAVES_PER_COMPONENT = 20;
const VALUE_PREVIEW = 80;

/**
 * Why a cell's cache key differs from the one it had before: one change per changed leaf,
 * components in name order. Objects are compared key by key and arrays index by index,
 * so an inserted argv element shows as every later index changing. No previous inputs
 * means there was nothing to hit (first run, or the entry was evicted).
 */
export function explainKeyChange(prev: CacheKeyInputs | undefined, next: CacheKeyInputs): KeyChange[] {
  if (prev === undefined) {
    return [{ component: '*', path: '*', old: null, new: null, detail: 'no earlier cache entry for this cell (first run, or it was evicted)' }];
  }
  const a = cacheKey(prev).components;
  const b = cacheKey(next).components;
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const changes: KeyChange[] = [];
  for (const name of names) {
    if (a[name] === b[name]) continue;
    const leaves: Leaf[] = [];
    diffLeaves(prev[name], next[name], name, leaves);
    for (const leaf of leaves.slice(0, MAX_LEAVES_PER_COMPONENT)) {
      // null stands for "absent": changes go into transcripts, where JSON has no undefined.
      changes.push({ component: name, path: leaf.path, old: leaf.old ?? null, new: leaf.new ?? null, detail: `${leaf.path}: ${preview(leaf.old)} -> ${preview(leaf.new)}` });
    }
    if (leaves.length > MAX_LEAVES_PER_COMPONENT) {
      changes.push({
        component: name,
        path: name,
        old: prev[name] ?? null,
        new: next[name] ?? null,
        detail: `${name}: ${leaves.length - MAX_LEAVES_PER_COMPONENT} more changes`,
      });
    }
  }
  return changes;
}

interface Leaf {
  path: string;
  old: unknown;
  new: unknown;
}

function diffLeaves(a: unknown, b: unknown, path: string, out: Leaf[]): void {
  if (same(a, b)) return;
  if (isObject(a) && isObject(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) diffLeaves(a[k], b[k], `${path}${property(k)}`, out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) diffLeaves(a[i], b[i], `${path}[${i}]`, out);
    return;
  }
  out.push({ path, old: a, new: b });
}

function same(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  return canonicalJson(a) === canonicalJson(b);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function property(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function preview(v: unknown): string {
  if (v === undefined) return '(absent)';
  const s = canonicalJson(v);
  return s.length > VALUE_PREVIEW ? `${s.slice(0, VALUE_PREVIEW - 1)}…` : s;
}
