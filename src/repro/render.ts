import type { CauseKind, DiffEntry } from './types.js';

/** What usually fixes each cause; shown under the evidence. */
const FIXES: Record<CauseKind, string | undefined> = {
  timestamp: 'take the time from SOURCE_DATE_EPOCH instead of the clock (tar --mtime/--clamp-mtime, gzip -n, touch -d @$SOURCE_DATE_EPOCH)',
  hostname: 'do not embed the machine name (uname -n, $HOSTNAME, socket.gethostname)',
  'build-path': 'build in a fixed directory, or map it away (-ffile-prefix-map=$PWD=., --remap-path-prefix)',
  username: 'do not embed the building user (whoami, $USER); archive with --owner=0 --group=0 --numeric-owner',
  'locale-sort': 'sort with LC_ALL=C so the order does not depend on the locale',
  'file-order': 'sort directory listings and archive members (tar --sort=name, sorted() over os.listdir)',
  random: 'derive per-build values from the inputs or SOURCE_DATE_EPOCH (PYTHONHASHSEED=0, -frandom-seed=<file>)',
  unknown: undefined,
};

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
  const fixes = Object.entries(FIXES).filter(([c, fix]) => found.has(c as CauseKind) && fix !== undefined);
  if (fixes.length > 0) {
    lines.push('', 'usual fixes:');
    for (const [cause, fix] of fixes) lines.push(`  ${cause}: ${fix}`);
  }
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
  if (e.likelyCause !== undefined) out.push(`${inner}likely cause: ${e.likelyCause.cause} — ${e.likelyCause.evidence}`);
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
