import type { ReportRun } from './types.js';

/**
 * A report leaves the machine that made it (exported, attached to CI, mailed): it must not
 * carry that machine's paths. The project root becomes a path relative to the project, the
 * temp dir `$TMPDIR`, the home dir `~`.
 */

export interface PathRule {
  path: string;
  /** what the path itself becomes; a path below it keeps its tail (`''` for the project: `<root>/x` → `x`) */
  as: string;
  /** `machine` paths are generic (`/tmp`, `/root`) and also name places inside a cell: only text airlock wrote on the host is rewritten with them */
  scope: 'project' | 'machine';
}

export interface MachinePaths {
  projectRoot: string;
  tmpdir?: string;
  homedir?: string;
}

/** The rules for one machine, longest path first (a project inside $TMPDIR is the project). */
export function pathRules(m: MachinePaths): PathRule[] {
  const rules: PathRule[] = [
    { path: m.projectRoot, as: '', scope: 'project' },
    ...(m.tmpdir ? [{ path: m.tmpdir, as: '$TMPDIR', scope: 'machine' } as const] : []),
    ...(m.homedir ? [{ path: m.homedir, as: '~', scope: 'machine' } as const] : []),
  ];
  // `/` (or an empty path) would rewrite every absolute path, including the cell's own
  return rules.filter((r) => r.path.replace(/\/+$/, '').length > 1).map((r) => ({ ...r, path: r.path.replace(/\/+$/, '') })).sort((a, b) => b.path.length - a.path.length);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** characters that continue a path: a rule's path must be a whole path (`/tmp` is not in `/var/tmp` or `/tmpfs`) */
const PATH_CHAR = '[\\w.~$@+%-]';

/** `text` with every path of `rules` (within `scope`) rewritten. */
export function portableText(text: string, rules: readonly PathRule[], scope: 'project' | 'all' = 'all'): string {
  let out = text;
  for (const rule of rules) {
    if (scope === 'project' && rule.scope !== 'project') continue;
    const re = new RegExp(`(?<!${PATH_CHAR}|/)${escapeRe(rule.path)}(?!${PATH_CHAR})(/(?=${PATH_CHAR}))?`, 'g');
    out = out.replace(re, (_m, slash: string | undefined) => (rule.as === '' ? (slash ? '' : '.') : `${rule.as}${slash ?? ''}`));
  }
  return out;
}

/**
 * The run with this machine's paths rewritten: everything airlock wrote on the host (errors,
 * the verification problem) with every rule; what came from the cell or the spec (logs,
 * expectation messages and diffs) with the project's only, since `/tmp` or `/root` there
 * are the cell's own paths.
 */
export function portableRun(run: ReportRun, rules: readonly PathRule[]): ReportRun {
  const host = (s: string) => portableText(s, rules, 'all');
  const cell = (s: string) => portableText(s, rules, 'project');
  const { problem, ...bundle } = run.bundle;
  return {
    ...run,
    bundle: { ...bundle, dir: host(bundle.dir), ...(problem !== undefined ? { problem: host(problem) } : {}) },
    cells: run.cells.map((c) => ({
      ...c,
      ...(c.error !== undefined ? { error: host(c.error) } : {}),
      steps: c.steps.map((s) => ({
        ...s,
        failures: s.failures.map((f) => ({ ...f, message: cell(f.message), ...(f.diff !== undefined ? { diff: cell(f.diff) } : {}) })),
        ...(s.stdout ? { stdout: { ...s.stdout, ...(s.stdout.excerpt !== undefined ? { excerpt: cell(s.stdout.excerpt) } : {}) } } : {}),
        ...(s.stderr ? { stderr: { ...s.stderr, ...(s.stderr.excerpt !== undefined ? { excerpt: cell(s.stderr.excerpt) } : {}) } } : {}),
      })),
    })),
  };
}
