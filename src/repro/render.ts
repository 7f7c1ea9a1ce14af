import { hintFor } from './hints.js';
import type { CauseKind, DiffEntry } from './types.js';

/**
 * A report for people: one block per differing path (what differs, the likely cause with its
 * evidence, the bounded diff), archive members nested under their archive, then what usually
 * fixes each cause found, once.
 */
export function renderDiffText(entries: readonly DiffEntry[]): string {
  if (entries.length === 0) return 'no differences\n';
  const total = count(entries);
  const lines = [`${total} difference${total === 1 ? '' : 's'} (${entries.length} top-level path${entries.length === 1 ? '' : 's'})`, ''];
  for (const e of entries) render(e, 0, lines);
  const found = new Set<CauseKind>();
  collectCauses(entries, found);
  const fixes = [...found].flatMap((c) => {
    const fix = hintFor(c);
    return fix === undefined ? [] : [`  ${c}: ${fix}`];
  });
  if (fixes.length > 0) lines.push('', 'usual fixes:', ...fixes);
  return `${lines.join('\n')}\n`;
}

function collectCauses(entries: readonly DiffEntry[], into: Set<CauseKind>): void {
  for (const e of entries) {
    if (e.likelyCause !== undefined) into.add(e.likelyCause.cause);
    if (e.members !== undefined) collectCauses(e.members, into);
  }
}

function render(e: DiffEntry, depth: number, out: string[]): void {
  const pad = '  '.repeat(depth);
  const inner = `${pad}  `;
  if (e.differs.includes('only-in-a')) out.push(`${pad}${e.path}: only in a`);
  else if (e.differs.includes('only-in-b')) out.push(`${pad}${e.path}: only in b`);
  else out.push(`${pad}${e.path}: ${e.differs.join(', ')} differ${e.differs.length === 1 ? 's' : ''}`);
  if (e.likelyCause !== undefined) {
    const field = e.likelyCause.field !== undefined ? ` (${e.likelyCause.field})` : '';
    out.push(`${inner}likely cause: ${e.likelyCause.cause}${field} — ${e.likelyCause.evidence}`);
  }
  if (e.note !== undefined) out.push(`${inner}note: ${e.note}`);
  if (e.unifiedDiff !== undefined) {
    for (const l of e.unifiedDiff.replace(/\n$/, '').split('\n')) out.push(`${inner}${l}`);
  }
  if (e.members !== undefined && e.members.length > 0) {
    out.push(`${inner}members:`);
    for (const m of e.members) render(m, depth + 2, out);
  }
}

function count(entries: readonly DiffEntry[]): number {
  return entries.reduce((n, e) => n + (e.members !== undefined && e.members.length > 0 ? count(e.members) : 1), 0);
}
