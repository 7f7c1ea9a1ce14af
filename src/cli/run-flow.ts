import { connectEngine, engineInfo } from '../engine/client.js';
import { AirlockError, EXIT, type ExitCode } from '../errors.js';
import { engineList } from '../scale/engine-list.js';
import { connectNodes, type RunNode, type UnreachableNode } from '../scale/nodes.js';
import { loadSigningKey } from '../proof/keys.js';
import type { TrustOutcome } from '../proof/trust.js';
import { reportRun, writeReports, type BundleCheck } from '../run/reports.js';
import type { Reporter } from '../run/reporter.js';
import { runSpec, type RunResult } from '../run/run.js';
import { openWorkspace } from '../run/workspace.js';
import { loadSpec } from '../spec/load.js';
import type { VerifyReport } from '../verify/index.js';
import { reportRunToGitHub } from './github.js';
import { withInterrupts } from './interrupts.js';
import { remoteCacheOptions, settleRemoteCache } from './remote-cache.js';
import { notVerifiedReason, trustAndVerify } from './sealed-check.js';

export interface FlowOptions {
  spec: string;
  /** the workspace root */
  root: string;
  environments?: string[];
  cells?: Record<string, string>;
  noCache?: boolean;
  /** run every cell, even those the action cache could replay */
  runAllCells?: boolean;
  /** the fetch phase: refuse unpinned inputs / use only the CAS */
  fetch?: { frozen?: boolean; offline?: boolean };
  maxParallel?: number;
  reporter: Reporter;
}

export interface FlowResult {
  result: RunResult;
  verification: VerifyReport | undefined;
  check: BundleCheck;
  /** whether the project trusted the signing key, or does now (trust on first use) */
  trust: TrustOutcome;
  /** the exit code of the bundle's own verification: 0, or that of its error (7, or 10 when verify itself broke) */
  verifyExitCode: ExitCode;
  reports: { junit: string; html: string };
}

/**
 * The engines cells are placed on, when AIRLOCK_ENGINES or the user config lists any: each
 * that does not answer is reported and left out; none answering is an error before the run.
 */
async function connectRunNodes(reporter: Reporter): Promise<{ nodes: RunNode[]; unreachable: UnreachableNode[] } | undefined> {
  const list = engineList();
  if (list.length === 0) return undefined;
  const connected = await connectNodes(list);
  for (const u of connected.unreachable) reporter.event({ type: 'node-unreachable', node: u.name, endpoint: u.endpoint, code: u.error.code, message: u.error.message });
  if (connected.nodes.length === 0) {
    throw new AirlockError('ENGINE_UNAVAILABLE', `none of the ${list.length} listed engines answers: ${connected.unreachable.map((u) => `${u.name}: ${u.error.message}`).join('; ')}`, {
      details: { unreachable: connected.unreachable.map((u) => ({ name: u.name, endpoint: u.endpoint, code: u.error.code })) },
    });
  }
  return connected;
}

/**
 * What `run`, `smoke` and `matrix` share: load the spec, run it sealed, trust the
 * signing key if this is the project's first (sealed-check.ts), verify the bundle
 * with the workspace's trusted keys, and write the JUnit
 * and HTML reports next to it (showing that verification).
 */
export async function runVerifyReport(opts: FlowOptions): Promise<FlowResult> {
  const loaded = await loadSpec(opts.spec);
  opts.reporter.steps?.(Object.fromEntries(Object.entries(loaded.spec.environments).map(([name, env]) => [name, env.steps.map((s) => s.name)])));
  const key = await loadSigningKey();
  // no engine is a plain error (exit 3) before anything starts, not a sealed bundle of a run that never ran
  const engine = connectEngine();
  const info = await engineInfo(engine);
  const nodes = await connectRunNodes(opts.reporter);
  const workspace = await openWorkspace(opts.root, remoteCacheOptions(opts.reporter));
  try {
    const result = await withInterrupts((signal) =>
      runSpec({
        loaded,
        ...(opts.environments?.length ? { environments: opts.environments } : {}),
        ...(opts.cells ? { cells: opts.cells } : {}),
        workspace,
        engine,
        engineInfo: info,
        ...(nodes ? { nodes } : {}),
        key,
        reporter: opts.reporter,
        signal,
        noCache: opts.noCache ?? false,
        runAllCells: opts.runAllCells ?? false,
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
        ...(opts.maxParallel ? { maxParallel: opts.maxParallel } : {}),
      }),
    );
    // trust on first use, then the same verification `airlock verify` would do here
    const { trust, check, verification, exitCode: verifyExitCode } = await trustAndVerify({ bundleDir: result.bundleDir, key, workspace, reporter: opts.reporter });
    const axes = loaded.spec.matrix ? Object.keys(loaded.spec.matrix.axes) : [];
    const reports = await writeReports(await reportRun(result, loaded.spec.name, axes, workspace.cas, check), workspace.cas);
    opts.reporter.event({ type: 'reports', ...reports });
    const flow: FlowResult = { result, verification, check, trust, verifyExitCode, reports };
    // the live status line is gone before anything else is written to stderr
    opts.reporter.close?.();
    // under GitHub Actions: failed steps as annotations at their spec lines, and the job summary
    await reportRunToGitHub({
      loaded,
      workspaceRoot: workspace.root,
      runId: result.runId,
      bundleDir: result.bundleDir,
      cells: result.cells,
      ...(result.error ? { error: result.error } : {}),
      durationMs: result.durationMs,
      check,
      reports,
      verdictLine: flowVerdictLine(flow),
    });
    return flow;
  } finally {
    // uploads ran beside the cells; what is left of them is waited for (bounded) once all is decided
    await settleRemoteCache(workspace, opts.reporter);
    opts.reporter.close?.();
    workspace.close();
  }
}

/**
 * The command's exit code: the run's own when it did not pass; otherwise a bundle that
 * does not verify is a failure too (a passing run never exits 0 with an unverified proof).
 */
export function flowExitCode(flow: FlowResult): ExitCode {
  return flow.result.exitCode !== EXIT.OK ? flow.result.exitCode : flow.verifyExitCode;
}

export function flowJson(flow: FlowResult) {
  const { result: r, check, trust, reports } = flow;
  // the code behind a nonzero exit that is the verification's, as the text's last line names it
  const verifyDecides = r.exitCode === EXIT.OK && flow.verifyExitCode !== EXIT.OK;
  return {
    runId: r.runId,
    bundleDir: r.bundleDir,
    verdict: r.verdict,
    exitCode: flowExitCode(flow),
    ...(verifyDecides && check.code ? { code: check.code } : {}),
    durationMs: r.durationMs,
    images: r.images,
    cells: r.cells,
    verified: check,
    trust,
    reports,
    ...(r.error ? { error: r.error.toJSON() } : {}),
  };
}

export function flowSummary(flow: FlowResult): string[] {
  const { result: r, check, reports } = flow;
  const counts = new Map<string, number>();
  for (const c of r.cells) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  return [
    `cells: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}`,
    `bundle: ${r.bundleDir}`,
    `report: ${reports.html}`,
    check.verified ? `verified: signed by ${check.keyid}` : `NOT verified: ${check.problem}`,
    ...(r.error ? [`error [${r.error.code}]: ${r.error.message}`] : []),
    flowVerdictLine(flow),
  ];
}

/** The last line: `PASS` only when the run passed and its bundle verified, else `FAIL (…)` saying why. */
export function flowVerdictLine({ result: r, check }: Pick<FlowResult, 'result' | 'check'>): string {
  return r.verdict === 'passed' && check.verified ? 'PASS' : `FAIL (${r.verdict}${check.verified ? '' : `, ${notVerifiedReason(check)}`})`;
}
