import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { writeFileAtomic } from '../proof/atomic-write.js';
import { renderHtml } from '../report/html.js';
import { renderJunit } from '../report/junit.js';
import type { ReportRun, ReportStream } from '../report/types.js';
import type { Cas } from '../store/cas.js';
import type { CellOutcome } from './cell.js';
import type { StreamRef } from './environment.js';
import type { RunResult } from './run.js';

const EXCERPT_BYTES = 4096;

export interface BundleCheck {
  verified: boolean | null;
  keyid?: string;
  /** the error code of a failed verification (KEY_UNTRUSTED, SIGNATURE_INVALID, …) */
  code?: string;
  problem?: string;
}

async function excerpt(cas: Cas, ref: StreamRef | undefined): Promise<ReportStream | undefined> {
  if (!ref) return undefined;
  let text = '';
  if (ref.size > 0 && (await cas.has(ref.digest))) {
    for await (const chunk of cas.createReadStream(ref.digest).iterator({ destroyOnReturn: true })) {
      text += (chunk as Buffer).toString('utf8');
      if (text.length >= EXCERPT_BYTES) break;
    }
  }
  return { digest: ref.digest, size: ref.size, ...(text ? { excerpt: text.slice(0, EXCERPT_BYTES) } : {}) };
}

async function reportCell(cas: Cas, o: CellOutcome, startedAt: string): Promise<ReportRun['cells'][number]> {
  return {
    id: o.id,
    env: o.env,
    cell: o.matrix ?? {},
    status: o.status,
    durationMs: o.durationMs,
    cached: o.status === 'cached',
    ...(o.cachedFrom ? { cachedFrom: o.cachedFrom.runId } : {}),
    startedAt,
    ...(o.error ? { error: `[${o.error.code}] ${o.error.message}` } : {}),
    steps: await Promise.all(
      o.steps.map(async (s) => {
        const [stdout, stderr] = await Promise.all([excerpt(cas, s.stdout), excerpt(cas, s.stderr)]);
        return {
          name: s.name,
          verdict: s.verdict,
          exitCode: s.exitCode,
          durationMs: s.durationMs,
          failures: s.failures,
          ...(stdout ? { stdout } : {}),
          ...(stderr ? { stderr } : {}),
        };
      }),
    ),
  };
}

/** The run as the reports see it: cells with bounded log excerpts, and the bundle's verification. */
export async function reportRun(result: RunResult, spec: string, axes: string[], cas: Cas, bundle: BundleCheck): Promise<ReportRun> {
  const startedAt = result.startedAt.toISOString();
  return {
    runId: result.runId,
    spec,
    verdict: result.verdict,
    startedAt,
    durationMs: result.durationMs,
    hostname: hostname(),
    bundle: { dir: result.bundleDir, ...bundle },
    axes,
    cells: await Promise.all(result.cells.map((o) => reportCell(cas, o, startedAt))),
  };
}

/**
 * Writes `junit.xml` and `report.html` next to the sealed bundle. They are views
 * for people and CI, not signed: the bundle's files are what verify checks.
 */
export async function writeReports(run: ReportRun, cas: Cas): Promise<{ junit: string; html: string }> {
  const junit = join(run.bundle.dir, 'junit.xml');
  const html = join(run.bundle.dir, 'report.html');
  await writeFileAtomic(junit, renderJunit(run));
  await writeFileAtomic(html, renderHtml(run, { blobBase: `${relative(run.bundle.dir, cas.blobDir)}/` }));
  return { junit, html };
}
