/**
 * GitHub Actions (`GITHUB_ACTIONS=true`): error annotations and the job summary.
 *
 * Annotations are workflow commands (`::error file=…,line=…,col=…,title=…::message`) written to
 * **stderr**. GitHub's docs say commands reach the runner "over stdout", but the runner parses
 * both streams of a `run:` step alike (actions/runner ScriptHandler.cs gives stdout and stderr
 * each an OutputManager, which takes any `::command` line). stdout is airlock's `--json` contract
 * (one JSON object per line) and its result lines, so stderr is where annotations break nothing.
 * The summary is Markdown appended (never overwritten) to the file GITHUB_STEP_SUMMARY names.
 */
import { appendFile } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import type { AirlockError } from '../errors.js';
import type { CellOutcome } from '../run/cell.js';
import type { StepOutcome } from '../run/cell-run.js';
import type { BundleCheck } from '../run/reports.js';
import { textLocator, type Locator } from '../spec/locate.js';
import type { LoadedSpec, SpecIssue } from '../spec/types.js';

export interface GitHubContext {
  /** what annotation and summary paths are relative to: GITHUB_WORKSPACE, else the working directory */
  root: string;
  /** GITHUB_STEP_SUMMARY, when set */
  summaryFile?: string;
}

/** The GitHub Actions context, or undefined when not running under GitHub Actions. */
export function gitHubActions(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): GitHubContext | undefined {
  if (env.GITHUB_ACTIONS !== 'true') return undefined;
  return { root: env.GITHUB_WORKSPACE || cwd, ...(env.GITHUB_STEP_SUMMARY ? { summaryFile: env.GITHUB_STEP_SUMMARY } : {}) };
}

/** A command's message: `%`, CR and LF escaped (as @actions/core's toCommandValue does). */
export function escapeData(s: string): string {
  return s.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

/** A command's property value: as a message, plus `:` and `,`, which end a property. */
export function escapeProperty(s: string): string {
  return escapeData(s).replaceAll(':', '%3A').replaceAll(',', '%2C');
}

export interface Annotation {
  /** relative to the repository root, `/`-separated */
  file?: string;
  line?: number;
  col?: number;
  title?: string;
  message: string;
}

/** `::error file={name},line={line},col={col},title={title}::{message}`, properties left out when unknown. */
export function annotationLine(a: Annotation, level: 'error' | 'warning' | 'notice' = 'error'): string {
  const props = (['file', 'line', 'col', 'title'] as const)
    .filter((k) => a[k] !== undefined)
    .map((k) => `${k}=${escapeProperty(String(a[k]))}`);
  return `::${level}${props.length > 0 ? ` ${props.join(',')}` : ''}::${escapeData(a.message)}`;
}

/** A path as GitHub wants it: relative to the repository root with `/`; undefined when outside it. */
export function repoPath(root: string, file: string): string | undefined {
  const rel = relative(root, file);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}

/** A position in a file: `file`/`line`/`col` when the file is in the repository, else named in the message. */
function at(root: string, file: string, line: number, col: number | undefined, message: string): Pick<Annotation, 'file' | 'line' | 'col' | 'message'> {
  const path = repoPath(root, file);
  if (path !== undefined) return { file: path, line, ...(col !== undefined ? { col } : {}), message };
  return { message: `${file}:${line}${col !== undefined ? `:${col}` : ''}: ${message}` };
}

/** A command's error: one annotation per spec problem (file, line, column), else one for the error. */
export function errorAnnotations(err: AirlockError, root: string): Annotation[] {
  const title = `airlock [${err.code}]`;
  const { file, issues } = err.details as { file?: unknown; issues?: unknown };
  if ((err.code === 'SPEC_INVALID' || err.code === 'SPEC_YAML') && typeof file === 'string' && Array.isArray(issues) && issues.length > 0) {
    return (issues as SpecIssue[]).map((i) => ({ title, ...at(root, file, i.line, i.column, i.path === '' ? i.message : `${i.path}: ${i.message}`) }));
  }
  return [{ title, message: err.message }];
}

/** What annotations and the summary need of a finished run, sealed and verified. */
export interface CiRun {
  loaded: Pick<LoadedSpec, 'file' | 'text' | 'spec'>;
  /** the workspace root (proofs/, locks/) */
  workspaceRoot: string;
  runId: string;
  bundleDir: string;
  cells: CellOutcome[];
  error?: AirlockError;
  durationMs: number;
  check: BundleCheck;
  reports: { junit: string; html: string };
  /** the command's last line: `PASS` or `FAIL (…)` */
  verdictLine: string;
}

/** Where in the spec a failed step is: the expectation that failed as written, else the step. */
function stepPath(run: CiRun, cell: CellOutcome, step: StepOutcome): PropertyKey[] {
  const index = run.loaded.spec.environments[cell.env]?.steps.findIndex((s) => s.name === step.name) ?? -1;
  if (index < 0) return ['environments', cell.env];
  const what = step.failures[0]?.what ?? (step.verdict === 'timeout' ? 'timeout' : 'exit');
  // the locator stops at the nearest node written in the file: `expect` or the step itself
  return ['environments', cell.env, 'steps', index, ...(what === 'timeout' ? ['timeout'] : ['expect', what])];
}

/**
 * The run's failures as annotations: each failed or timed-out step at its line in the spec
 * (the failed expectation's, or the step's when that is not written), each cell error at its
 * environment, a run error no cell carries, and a bundle that did not verify.
 */
export function runAnnotations(run: CiRun, root: string): Annotation[] {
  let locate: Locator | undefined;
  const where = (path: PropertyKey[], message: string) => {
    locate ??= textLocator(run.loaded.text);
    const { line, column } = locate(path);
    return at(root, run.loaded.file, line, column, message);
  };
  const out: Annotation[] = [];
  for (const cell of run.cells) {
    for (const step of cell.steps) {
      if (step.verdict !== 'fail' && step.verdict !== 'timeout') continue;
      const message = step.failures.map((f) => (f.diff ? `${f.message}\n${f.diff}` : f.message)).join('\n') || `exit ${step.exitCode}`;
      const title = `airlock: ${cell.id}/${step.name} ${step.verdict === 'timeout' ? 'timed out' : 'failed'}`;
      out.push({ title, ...where(stepPath(run, cell, step), message) });
    }
    if (cell.error) out.push({ title: `airlock: cell ${cell.id} [${cell.error.code}]`, ...where(['environments', cell.env], cell.error.message) });
  }
  if (run.error && !run.cells.some((c) => c.error === run.error)) out.push(...errorAnnotations(run.error, root));
  if (run.check.verified === false) out.push({ title: `airlock: bundle not verified [${run.check.code ?? 'INTERNAL'}]`, message: run.check.problem ?? 'the bundle did not verify' });
  return out;
}

/** Text for a Markdown table cell: pipes escaped, one line. */
function cellText(s: string): string {
  return s.replaceAll('|', '\\|').replace(/\r?\n/g, ' ');
}

/** Inline code that survives any backticks in `s`. */
function code(s: string): string {
  const fence = '`'.repeat(Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length)) + 1);
  return fence.length > 1 || s.startsWith(' ') || s.endsWith(' ') ? `${fence} ${s} ${fence}` : `${fence}${s}${fence}`;
}

const MARK: Record<string, string> = { passed: '✅', cached: '✅', failed: '❌', error: '❌', skipped: '⏭️' };

function cacheText(cell: CellOutcome): string {
  if (cell.status === 'cached') return cell.cachedFrom ? `hit (from run ${code(cell.cachedFrom.runId)})` : 'hit';
  switch (cell.missReason) {
    case 'first-run':
      return 'ran (first run)';
    case 'inputs-changed':
      return `ran (inputs changed: ${code(`airlock explain ${cell.id}`)})`;
    case 'blobs-missing':
      return 'ran (cached blobs missing)';
    case 'no-cache':
      return 'ran (cache not used)';
    case undefined:
      return '—';
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A shell word, quoted only when it needs to be. */
function shellWord(s: string): string {
  return /^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The job summary of a run: verdict, a table of cells (verdict, cache, duration), the failed
 * steps, the bundle and its reports, and the command that verifies the bundle offline.
 */
export function summaryMarkdown(run: CiRun, root: string): string {
  const shown = (p: string) => repoPath(root, p) ?? p;
  const ok = run.verdictLine === 'PASS';
  const lines = [
    `### ${ok ? '✅' : '❌'} airlock: ${cellText(run.loaded.spec.name)} — ${cellText(run.verdictLine)}`,
    '',
    `Run ${code(run.runId)} of ${code(shown(run.loaded.file))} in ${seconds(run.durationMs)}.`,
    '',
  ];
  if (run.cells.length > 0) {
    lines.push('| cell | verdict | cache | duration |', '| :-- | :-- | :-- | --: |');
    for (const c of run.cells) {
      lines.push(`| ${cellText(code(c.id))} | ${MARK[c.status] ?? ''} ${c.status} | ${cellText(cacheText(c))} | ${seconds(c.durationMs)} |`);
    }
    lines.push('');
  }
  const failed = run.cells.flatMap((c) => c.steps.filter((s) => s.verdict === 'fail' || s.verdict === 'timeout').map((s) => ({ c, s })));
  if (failed.length > 0) {
    lines.push('**Failed steps**', '');
    for (const { c, s } of failed) lines.push(`- ${code(`${c.id}/${s.name}`)}: ${cellText(s.failures.map((f) => f.message).join('; ') || `exit ${s.exitCode}`)}`);
    lines.push('');
  }
  const errors = [...run.cells.flatMap((c) => (c.error ? [`${c.id}: [${c.error.code}] ${c.error.message}`] : [])), ...(run.error && !run.cells.some((c) => c.error === run.error) ? [`[${run.error.code}] ${run.error.message}`] : [])];
  if (errors.length > 0) lines.push('**Errors**', '', ...errors.map((e) => `- ${cellText(e)}`), '');
  const bundle = shown(run.bundleDir);
  const verified = run.check.verified ? `verified, signed by ${code(run.check.keyid ?? '?')}` : `**not verified**: ${cellText(run.check.problem ?? 'unknown')}`;
  lines.push(`**Bundle**: ${code(bundle)} — ${verified}`, '');
  lines.push(`**Reports**: ${code(shown(run.reports.junit))} (JUnit) · ${code(shown(run.reports.html))} (HTML)`, '');
  // `verify` trusts the keys of the workspace it finds from where it runs: name it when it is not the repository root
  const verify = ['airlock', 'verify', bundle, ...(relative(root, run.workspaceRoot) === '' ? [] : ['--root', shown(run.workspaceRoot)])];
  lines.push('Verify the bundle offline (no engine, no network):', '', '```sh', verify.map(shellWord).join(' '), '```', '');
  return `${lines.join('\n')}\n`;
}

/** Writes annotations to stderr (see the module comment for why not stdout). */
export function writeAnnotations(annotations: readonly Annotation[], err: NodeJS.WritableStream = process.stderr): void {
  for (const a of annotations) err.write(`${annotationLine(a)}\n`);
}

/** Appends to the job summary; a summary that cannot be written is said on stderr, never fails the command. */
export async function appendSummary(file: string, markdown: string): Promise<void> {
  try {
    await appendFile(file, markdown);
  } catch (e) {
    process.stderr.write(`airlock: cannot append the job summary to ${file}: ${(e as Error).message}\n`);
  }
}

/** Annotations and the summary decorate a CI page: whatever goes wrong there is said, and changes no verdict. */
async function decorating(what: () => Promise<void>): Promise<void> {
  try {
    await what();
  } catch (e) {
    process.stderr.write(`airlock: GitHub Actions annotations or summary failed: ${(e as Error).message}\n`);
  }
}

/** After a run: its failures as annotations, and its summary. Nothing outside GitHub Actions. */
export async function reportRunToGitHub(run: CiRun, gh: GitHubContext | undefined = gitHubActions()): Promise<void> {
  if (!gh) return;
  await decorating(async () => {
    writeAnnotations(runAnnotations(run, gh.root));
    if (gh.summaryFile) await appendSummary(gh.summaryFile, summaryMarkdown(run, gh.root));
  });
}

/** After a command failed with an error: its annotations, and for commands that run a spec a short summary. */
export async function reportErrorToGitHub(command: string | null, err: AirlockError, gh: GitHubContext | undefined = gitHubActions()): Promise<void> {
  if (!gh) return;
  await decorating(async () => {
    writeAnnotations(errorAnnotations(err, gh.root));
    if (gh.summaryFile && (command === 'run' || command === 'smoke' || command === 'matrix')) {
      const lines = [`### ❌ airlock ${command}: error [${err.code}]`, '', '```', err.message.replaceAll('```', "'''"), '```', ''];
      await appendSummary(gh.summaryFile, `${lines.join('\n')}\n`);
    }
  });
}
