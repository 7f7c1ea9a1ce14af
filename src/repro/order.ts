import { compareBytes } from '../archive/paths.js';

/**
 * Two sides holding the same lines (or members) in a different order: tell a locale-dependent
 * sort apart from no sort at all. `sort` under LC_ALL=C orders by bytes ("B" < "a", "_" < "a");
 * under en_US.UTF-8 it ignores case and punctuation at first ("a" < "B", "_x" next to "x").
 */
export type OrderVerdict =
  | { kind: 'same-order' }
  | { kind: 'different-content' }
  | { kind: 'locale-sort'; byteSide: 'a' | 'b'; firstDiff: number }
  | { kind: 'file-order'; firstDiff: number; sortedSide?: 'a' | 'b' };

const collator = new Intl.Collator('en-US', { sensitivity: 'base', ignorePunctuation: true, numeric: false });

/** Locale-style order: punctuation and case ignored first, then case (lower first), then bytes as the last tie-break. */
export function compareLocale(a: string, b: string): number {
  const primary = collator.compare(a, b);
  if (primary !== 0) return primary;
  const lower = a.toLowerCase() === b.toLowerCase() ? compareBytes(b, a) : 0; // lower case first, as glibc does
  return lower !== 0 ? lower : compareBytes(a, b);
}

function isSorted(xs: readonly string[], cmp: (a: string, b: string) => number): boolean {
  for (let i = 1; i < xs.length; i++) if (cmp(xs[i - 1]!, xs[i]!) > 0) return false;
  return true;
}

function sameMultiset(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((v, i) => v === y[i]);
}

export function classifyOrder(a: readonly string[], b: readonly string[]): OrderVerdict {
  if (!sameMultiset(a, b)) return { kind: 'different-content' };
  const firstDiff = a.findIndex((v, i) => v !== b[i]);
  if (firstDiff === -1) return { kind: 'same-order' };
  const aBytes = isSorted(a, compareBytes);
  const bBytes = isSorted(b, compareBytes);
  const aLocale = isSorted(a, compareLocale);
  const bLocale = isSorted(b, compareLocale);
  if (aBytes && bLocale && !aLocale) return { kind: 'locale-sort', byteSide: 'a', firstDiff };
  if (bBytes && aLocale && !bLocale) return { kind: 'locale-sort', byteSide: 'b', firstDiff };
  if (aBytes || aLocale) return { kind: 'file-order', firstDiff, sortedSide: 'a' };
  if (bBytes || bLocale) return { kind: 'file-order', firstDiff, sortedSide: 'b' };
  return { kind: 'file-order', firstDiff };
}
