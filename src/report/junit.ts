import { formatCellValue } from '../plan/matrix.js';
import { boundLog, escapeXmlAttr as attr, escapeXmlText as text, seconds } from './text.js';
import type { ReportCell, ReportRun, ReportStep, ReportStream } from './types.js';

export interface JunitOptions {
  /** characters of each log kept in `<system-out>` / `<system-err>` (default 64 KiB) */
  maxLogChars?: number;
}

const DEFAULT_MAX_LOG_CHARS = 64 * 1024;

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

/** A testcase as written: its child element (if any) decides what it counts as. */
interface Case {
  name: string;
  time: string;
  outcome: 'pass' | 'failure' | 'error' | 'skipped';
  body: string[];
}

/**
 * JUnit XML as CI systems read it (Jenkins, GitLab, GitHub test reporters): one
 * `<testsuite>` per cell, one `<testcase>` per step (`classname` = cell id), failed
 * expectations as `<failure>` with the diff in the body, timeouts and errors as
 * `<error>`, steps not run as `<skipped/>`, and bounded logs per testcase. A cell with no
 * steps still gets one `(cell)` testcase, so an errored or skipped cell is never silent.
 * Valid against the Jenkins xunit plugin's junit-10.xsd (test/fixtures/junit/junit.xsd).
 * Timestamps are UTC without a zone, as Ant's schema requires.
 */
export function renderJunit(run: ReportRun, options: JunitOptions = {}): string {
  const max = options.maxLogChars ?? DEFAULT_MAX_LOG_CHARS;
  const hostname = run.hostname || 'localhost';
  const total: Counts = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const suites = run.cells.map((cell, index) => {
    const cases = casesOf(cell, max);
    const c = count(cases);
    total.tests += c.tests;
    total.failures += c.failures;
    total.errors += c.errors;
    total.skipped += c.skipped;
    return [
      `  <testsuite name="${attr(cell.id)}" id="${index}" package="${attr(run.spec)}" hostname="${attr(hostname)}"` +
        ` timestamp="${antTimestamp(cell.startedAt ?? run.startedAt)}" tests="${c.tests}" failures="${c.failures}"` +
        ` errors="${c.errors}" skipped="${c.skipped}" time="${seconds(cell.durationMs)}">`,
      properties(run, cell),
      ...cases.map((k) => testcase(cell.id, k)),
      '  </testsuite>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(`airlock ${run.spec} ${run.runId}`)}" tests="${total.tests}" failures="${total.failures}"` +
      ` errors="${total.errors}" time="${seconds(run.durationMs)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

function properties(run: ReportRun, cell: ReportCell): string {
  const props: [string, string][] = [
    ['airlock.run', run.runId],
    ['airlock.status', cell.status],
    ...(cell.env !== undefined ? [['airlock.env', cell.env] as [string, string]] : []),
    ...(cell.cachedFrom !== undefined ? [['airlock.cached-from', cell.cachedFrom] as [string, string]] : []),
    ...Object.entries(cell.cell).map(([k, v]): [string, string] => [`matrix.${k}`, formatCellValue(v)]),
  ];
  return ['    <properties>', ...props.map(([n, v]) => `      <property name="${attr(n)}" value="${attr(v)}"/>`), '    </properties>'].join('\n');
}

function casesOf(cell: ReportCell, max: number): Case[] {
  const cases = cell.steps.map((s) => stepCase(s, max));
  const stepError = cell.steps.some((s) => s.verdict === 'error' || s.verdict === 'timeout');
  if (cell.error !== undefined || cell.steps.length === 0 || (cell.status === 'error' && !stepError)) {
    cases.push(cellCase(cell));
  }
  return cases;
}

function stepCase(step: ReportStep, max: number): Case {
  const body: string[] = [];
  let outcome: Case['outcome'] = 'pass';
  switch (step.verdict) {
    case 'pass':
      break;
    case 'fail': {
      outcome = 'failure';
      const message = step.failures.map((f) => f.message).join('; ') || `step failed${step.exitCode === null ? '' : ` (exit code ${step.exitCode})`}`;
      const detail = step.failures.map((f) => `${f.what}: ${f.message}${f.diff ? `\n${f.diff.trimEnd()}` : ''}`).join('\n\n');
      body.push(`<failure message="${attr(message)}" type="${attr(step.failures[0]?.what ?? 'expectation')}">${text(detail)}</failure>`);
      break;
    }
    case 'timeout': {
      outcome = 'error';
      const message = step.failures.find((f) => f.what === 'timeout')?.message ?? 'the step timed out';
      body.push(`<error message="${attr(message)}" type="timeout">${text(step.failures.map((f) => f.message).join('\n'))}</error>`);
      break;
    }
    case 'error': {
      outcome = 'error';
      const message = step.failures.map((f) => f.message).join('; ') || 'the step could not be run';
      body.push(`<error message="${attr(message)}" type="error">${text(message)}</error>`);
      break;
    }
    case 'skipped':
      outcome = 'skipped';
      body.push('<skipped message="not run: an earlier step did not pass"/>');
      break;
  }
  for (const [tag, stream] of [['system-out', step.stdout], ['system-err', step.stderr]] as const) {
    const log = logText(stream, max);
    if (log !== undefined) body.push(`<${tag}>${text(log)}</${tag}>`);
  }
  return { name: step.name, time: seconds(step.durationMs), outcome, body };
}

function cellCase(cell: ReportCell): Case {
  const message = cell.error ?? `the cell ${cell.status === 'skipped' ? 'was not run' : cell.status === 'error' ? 'did not run to completion' : `is ${cell.status} with no steps`}`;
  switch (cell.status) {
    case 'skipped':
      return { name: '(cell)', time: seconds(cell.durationMs), outcome: 'skipped', body: [`<skipped message="${attr(message)}"/>`] };
    case 'failed':
      return { name: '(cell)', time: seconds(cell.durationMs), outcome: 'failure', body: [`<failure message="${attr(message)}" type="cell">${text(message)}</failure>`] };
    case 'error':
      return { name: '(cell)', time: seconds(cell.durationMs), outcome: 'error', body: [`<error message="${attr(message)}" type="cell">${text(message)}</error>`] };
    case 'passed':
    case 'cached':
      // An error recorded on a cell that still passed (e.g. outputs not collected) is worth seeing.
      return cell.error === undefined
        ? { name: '(cell)', time: seconds(cell.durationMs), outcome: 'pass', body: [] }
        : { name: '(cell)', time: seconds(cell.durationMs), outcome: 'error', body: [`<error message="${attr(message)}" type="cell">${text(message)}</error>`] };
  }
}

function testcase(classname: string, k: Case): string {
  const open = `    <testcase name="${attr(k.name)}" classname="${attr(classname)}" time="${k.time}"`;
  if (k.body.length === 0) return `${open}/>`;
  return [`${open}>`, ...k.body.map((b) => `      ${b}`), '    </testcase>'].join('\n');
}

function count(cases: Case[]): Counts {
  return {
    tests: cases.length,
    failures: cases.filter((c) => c.outcome === 'failure').length,
    errors: cases.filter((c) => c.outcome === 'error').length,
    skipped: cases.filter((c) => c.outcome === 'skipped').length,
  };
}

/** The excerpt, bounded, with a note naming the full log when any of it is missing. */
function logText(stream: ReportStream | undefined, max: number): string | undefined {
  if (stream?.excerpt === undefined) return undefined;
  const { text: shown, cut } = boundLog(stream.excerpt, max);
  // Colour codes stripped from a whole excerpt do not make it partial.
  const shownBytes = Buffer.byteLength(cut === 0 ? stream.excerpt : shown, 'utf8');
  if (cut === 0 && shownBytes >= stream.size) return shown;
  return `${shown}${shown.endsWith('\n') || shown === '' ? '' : '\n'}[airlock: ${shownBytes} of ${stream.size} bytes shown; full log ${stream.digest}]\n`;
}

/** `YYYY-MM-DDTHH:MM:SS` in UTC: the form Ant's JUnit schema requires (no zone, no fraction). */
function antTimestamp(iso: string): string {
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? '1970-01-01T00:00:00' : t.toISOString().slice(0, 19);
}
