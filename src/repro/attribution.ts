import type { Variation } from '../engine/variation.js';
import { hintFor } from './hints.js';
import { causeRank, type CauseKind, type DiffEntry, type LikelyCause } from './types.js';
import type { Dimension, DimensionPlan } from './variations.js';

/**
 * Attribution by controlled experiment. When runs differ, the cells run again:
 * once with nothing varied (the control) and once per varied dimension with
 * only that dimension varied, all on run 1's images. Each is compared with
 * run 1. A path that differs in the control is inherent (the clock, randomness,
 * ASLR, order); a path that differs when one dimension varies, and not in the
 * control (or differs there with that dimension's evidence), is proven to
 * depend on it. The evidence found in the bytes names the cause; the
 * experiment proves which variation provokes it.
 */

/** The causes each dimension can provoke, the first being the one named when the bytes say nothing more. */
export const CAUSES_OF: Record<Dimension, readonly CauseKind[]> = {
  hostname: ['hostname'],
  tz: ['timezone'],
  locale: ['locale', 'locale-sort'],
  umask: ['umask'],
  user: ['uid-gid', 'username'],
  cpuset: ['cpu-count'],
  workdir: ['build-path'],
  'env-order': ['env-order'],
  time: ['timestamp'],
  faketime: ['timestamp'],
};

/** Causes that show up with nothing varied. */
const INHERENT: readonly CauseKind[] = ['timestamp', 'random', 'address', 'file-order'];


/** The fields of a variation each dimension sets. */
const FIELDS_OF: Record<Dimension, readonly (keyof Variation)[]> = {
  hostname: ['hostname', 'domainname'],
  tz: ['tz'],
  locale: ['locale'],
  umask: ['umask'],
  user: ['user'],
  cpuset: ['cpuset'],
  workdir: ['workdir'],
  'env-order': ['reverseEnvOrder'],
  time: [],
  faketime: ['faketime', 'faketimeLibrary'],
};

export interface Experiment {
  /** 'control': nothing varied; else the one dimension varied */
  label: 'control' | Dimension;
  variation: Variation | undefined;
}

/**
 * The experiments that attribute a failing repro: the control, then one per
 * dimension that was on, with the value run 2 had. The clock is not an
 * experiment of its own: every run reads it at another time, so the control
 * already varies it. At most (dimensions on + 1) runs.
 */
export function planExperiments(dimensions: readonly DimensionPlan[], varied: Variation | undefined): Experiment[] {
  const out: Experiment[] = [{ label: 'control', variation: undefined }];
  for (const d of dimensions) {
    if (d.status !== 'on' || d.dimension === 'time') continue;
    const only: Variation = {};
    for (const f of FIELDS_OF[d.dimension]) {
      if (varied?.[f] !== undefined) (only as Record<string, unknown>)[f] = varied[f];
    }
    if (Object.keys(only).length > 0) out.push({ label: d.dimension, variation: only });
  }
  return out;
}

export interface AttributedCause {
  cause: CauseKind;
  /** the dimension whose experiment changes this path; null: it differs with nothing varied, or no single experiment tells */
  variation: Dimension | null;
  /** an experiment showed it (else it is the evidence of the failing comparison alone) */
  proven: boolean;
  evidence: string;
  field?: string;
  hint?: string;
}

export interface PathAttribution {
  scope: 'output' | 'log';
  path: string;
  /** strongest first; the first is the cause named for the path */
  causes: AttributedCause[];
}

/** What one experiment showed: the differences of its run against run 1. */
export interface ExperimentResult {
  label: Experiment['label'];
  differences: { scope: 'output' | 'log'; entry: DiffEntry }[];
}

type Target = { scope: 'output' | 'log'; entry: DiffEntry };

const keyOf = (t: { scope: string; entry: DiffEntry }) => `${t.scope}\0${t.entry.path}`;

/** Whether a cause (or one found beside it) is one the dimension provokes. */
function showsDimension(c: LikelyCause | undefined, d: Dimension): CauseKind | undefined {
  if (c === undefined) return undefined;
  return [c.cause, ...(c.also ?? [])].find((k) => CAUSES_OF[d].includes(k));
}

/** Each differing path of the failing comparisons, with its causes as the experiments prove them. */
export function attribute(targets: readonly Target[], results: readonly ExperimentResult[]): PathAttribution[] {
  const seen = new Map<string, Target>();
  for (const t of targets) if (!seen.has(keyOf(t))) seen.set(keyOf(t), t);
  const found = results.map((r) => ({ label: r.label, byKey: new Map(r.differences.map((d) => [keyOf(d), d.entry])) }));
  const control = found.find((r) => r.label === 'control');
  return [...seen.values()].map((t) => {
    const key = keyOf(t);
    const inControl = control?.byKey.get(key);
    const causes: AttributedCause[] = [];
    for (const r of found) {
      if (r.label === 'control') continue;
      const d = r.label;
      const there = r.byKey.get(key);
      if (there === undefined) continue;
      const shown = showsDimension(there.likelyCause, d);
      // differing in the control too, it only counts with the dimension's own evidence
      if (inControl !== undefined && shown === undefined) continue;
      const cause = shown ?? CAUSES_OF[d][0]!;
      const lc = there.likelyCause;
      const evidence =
        lc === undefined ? `differs only when ${d} varies (${there.differs.join(', ')})`
        : shown === lc.cause ? lc.evidence
        : `differs only when ${d} varies: ${lc.evidence}`;
      const field = lc?.field === undefined ? undefined : fieldFor(lc.field, cause);
      causes.push(withHint({ cause, variation: d, proven: true, evidence, ...(field !== undefined ? { field } : {}) }));
    }
    if (inControl !== undefined) {
      const lc = inControl.likelyCause;
      // nothing was varied: only an inherent cause can be right; bytes showing none of them are randomness or a race
      const named = lc !== undefined && INHERENT.includes(lc.cause) ? lc.cause : lc?.also?.find((k) => INHERENT.includes(k));
      const seen = lc?.evidence ?? inControl.differs.join(', ');
      causes.push(
        withHint({
          cause: named ?? 'random',
          variation: null,
          proven: true,
          evidence: `differs with nothing varied (control run)${named === undefined ? ', and the bytes show no clock value, address or reordering: randomness or a race' : ''}: ${seen}`,
          ...(lc?.field !== undefined ? { field: lc.field } : {}),
        }),
      );
    }
    if (causes.length === 0) {
      const lc = t.entry.likelyCause;
      causes.push(
        withHint({
          cause: lc?.cause ?? 'unknown',
          variation: null,
          proven: false,
          evidence: `no single variation and no control run reproduces it (variations acting together, or rare nondeterminism)${lc ? `; the failing comparison shows: ${lc.evidence}` : ''}`,
          ...(lc?.field !== undefined ? { field: lc.field } : {}),
        }),
      );
    }
    causes.sort((x, y) => Number(y.variation !== null) - Number(x.variation !== null) || causeRank(x.cause) - causeRank(y.cause));
    return { scope: t.scope, path: t.entry.path, causes };
  });
}

/** The member field a metadata cause lives in, for archives whose member differs in several at once. */
const META_OF: Partial<Record<CauseKind, string>> = { timestamp: 'mtime', 'uid-gid': 'owner', username: 'owner', umask: 'mode' };

function fieldFor(field: string, cause: CauseKind): string {
  const meta = META_OF[cause];
  return meta === undefined ? field : field.replace(/ member (mtime|owner|mode)$/, ` member ${meta}`);
}

function withHint(c: AttributedCause): AttributedCause {
  const hint = hintFor({ cause: c.cause, evidence: c.evidence, ...(c.field !== undefined ? { field: c.field } : {}) });
  return hint === undefined ? c : { ...c, hint };
}

/** The attribution for people: one line per path (its causes, proven by which run), the evidence and the fix under it. */
export function renderAttribution(paths: readonly PathAttribution[], experiments: readonly { label: string; runId: string }[]): string {
  const lines = [`attribution (${experiments.length} experiment runs against run 1: ${experiments.map((e) => e.label).join(', ')})`];
  for (const p of paths) {
    const names = p.causes.map((c) => `${c.cause}${c.variation ? ` [${c.variation}]` : c.proven ? ' [inherent]' : ' [not isolated]'}`);
    lines.push(`  ${p.path}: ${names.join(', ')}`);
    for (const c of p.causes) {
      lines.push(`    ${c.cause}${c.field ? ` (${c.field})` : ''}: ${c.evidence}`);
      if (c.hint) lines.push(`      fix: ${c.hint}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
