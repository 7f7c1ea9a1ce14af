import type { Comparison } from './compare-runs.js';
import { renderDiffText } from './render.js';
import type { CauseKind, DiffEntry } from './types.js';

/** A comparison of two runs as `--json` entries and as text. */

/** One differing path, for `--json`: where, what differs, the likely cause and its evidence. */
export interface ReportEntry {
  scope: 'image' | 'output' | 'log' | 'step' | 'cell';
  /** the image key, for scope image */
  image?: string;
  path: string;
  differs: string[];
  cause?: CauseKind;
  evidence?: string;
  note?: string;
  /** archive members that differ, each with its own cause */
  members?: ReportEntry[];
}

export function reportEntries(c: Comparison): ReportEntry[] {
  const fromDiff = (scope: ReportEntry['scope'], e: DiffEntry, image?: string): ReportEntry => ({
    scope,
    ...(image ? { image } : {}),
    path: e.path,
    differs: e.differs,
    ...(e.likelyCause ? { cause: e.likelyCause.cause, evidence: e.likelyCause.evidence } : {}),
    ...(e.note ? { note: e.note } : {}),
    ...(e.members && e.members.length > 0 ? { members: e.members.map((m) => fromDiff(scope, m, image)) } : {}),
  });
  return [
    ...c.cells
      .filter((x) => !x.same)
      .map((x): ReportEntry => ({
        scope: 'cell',
        path: x.cell,
        differs: ['status'],
        evidence: `${x.a ?? 'absent'}${x.errors?.a ? ` (${x.errors.a})` : ''} vs ${x.b ?? 'absent'}${x.errors?.b ? ` (${x.errors.b})` : ''}`,
      })),
    ...c.steps
      .filter((s) => s.differs.includes('exit') || s.differs.includes('missing'))
      .map((s): ReportEntry => ({ scope: 'step', path: `${s.cell}/${s.step}`, differs: s.differs, evidence: `exit ${s.a?.exitCode ?? 'absent'} vs ${s.b?.exitCode ?? 'absent'}` })),
    ...c.images.flatMap((i) =>
      i.differences.length > 0
        ? i.differences.map((e) => fromDiff('image', e, i.key))
        : i.same
          ? []
          : [{ scope: 'image' as const, image: i.key, path: '/', differs: ['rootfs'], evidence: `${i.a?.rootfsDigest ?? 'absent'} vs ${i.b?.rootfsDigest ?? 'absent'}`, ...(i.note ? { note: i.note } : {}) }],
    ),
    ...c.outputDifferences.map((e) => fromDiff('output', e)),
    ...c.logDifferences.map((e) => fromDiff('log', e)),
  ];
}

const mark = (same: boolean) => (same ? 'same    ' : 'DIFFERS ');
const short = (d: string | null | undefined) => (d ? d.slice(0, 19) : 'absent');

/** The comparison for people: tables of images, cells and outputs, then each difference with its likely cause. */
export function renderComparison(c: Comparison, labels: { a: string; b: string }): string {
  const lines = [`${labels.a} vs ${labels.b}: ${c.reproducible ? 'REPRODUCIBLE' : 'NOT REPRODUCIBLE'}`];
  if (c.images.length > 0) lines.push('images (normalized rootfs digest' + (c.strict ? ', and with mtimes' : '') + ')');
  for (const i of c.images) {
    const digests = i.a?.rootfsDigest === i.b?.rootfsDigest ? short(i.a?.rootfsDigest) : `${short(i.a?.rootfsDigest)} vs ${short(i.b?.rootfsDigest)}`;
    const strict = i.strict ? (i.strict.same ? ', mtimes same' : `, mtimes: ${short(i.strict.a)} vs ${short(i.strict.b)}`) : '';
    lines.push(`  ${mark(i.same)} ${i.key}  ${digests}${strict}`);
  }
  if (c.cells.length > 0) lines.push('cells');
  for (const cell of c.cells) {
    const steps = c.steps.filter((s) => s.cell === cell.cell);
    const bad = steps.filter((s) => s.differs.length > 0);
    const detail = bad.length === 0 ? `${steps.length} steps, same exit codes${c.logs ? ', stdout and stderr' : ''}` : bad.map((s) => `${s.step}: ${s.differs.join('+')} (exit ${s.a?.exitCode ?? '-'} vs ${s.b?.exitCode ?? '-'})`).join('; ');
    lines.push(`  ${mark(cell.same && bad.length === 0)} ${cell.cell}  ${cell.a ?? 'absent'} vs ${cell.b ?? 'absent'}; ${detail}`);
    if (cell.errors?.a) lines.push(`           a: ${cell.errors.a}`);
    if (cell.errors?.b) lines.push(`           b: ${cell.errors.b}`);
  }
  if (c.outputs.length > 0) lines.push('outputs (bit for bit' + (c.strict ? ', and modes' : '') + ')');
  for (const o of c.outputs) {
    const digests = o.a?.digest === o.b?.digest ? short(o.a?.digest) : `${short(o.a?.digest)} vs ${short(o.b?.digest)}`;
    lines.push(`  ${mark(o.same)} ${o.path}  ${digests}`);
  }
  for (const n of c.notes) lines.push(`note: ${n}`);
  for (const i of c.images.filter((x) => x.differences.length > 0)) {
    lines.push('', `differences in image ${i.key}:`, ...indent(renderDiffText(i.differences)));
  }
  if (c.outputDifferences.length > 0) lines.push('', 'differences in outputs:', ...indent(renderDiffText(c.outputDifferences)));
  if (c.logDifferences.length > 0) lines.push('', 'differences in step logs:', ...indent(renderDiffText(c.logDifferences)));
  if (c.diffoscope) lines.push('', 'diffoscope:', ...indent(c.diffoscope));
  return `${lines.join('\n')}\n`;
}

function indent(text: string): string[] {
  return text.replace(/\n$/, '').split('\n').map((l) => (l === '' ? '' : `  ${l}`));
}
