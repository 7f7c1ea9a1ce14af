import { copyFile, link, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir, hostname, tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { BlobRef } from '../proof/blob-reader.js';
import { writeFileAtomic } from '../proof/atomic-write.js';
import { BUNDLE_FILES } from '../proof/manifest.js';
import { parseTranscript } from '../proof/transcript.js';
import { renderHtml } from '../report/html.js';
import { REPORT_FILES_DIR } from '../report/html-parts.js';
import { renderJunit } from '../report/junit.js';
import { pathRules, portableRun, portableText, type PathRule } from '../report/portable.js';
import { transcriptFacts, type TranscriptFacts } from '../report/transcript-facts.js';
import type { ReportBase, ReportBlob, ReportBundleFile, ReportRun, ReportStream } from '../report/types.js';
import type { Cas } from '../store/cas.js';
import { digestHex } from '../util/digest.js';
import { AIRLOCK_VERSION } from '../version.js';
import type { CellOutcome } from './cell.js';
import type { StreamRef } from './cell-run.js';
import type { RunResult } from './run.js';

const EXCERPT_BYTES = 4096;
/** An SBOM larger than this is linked, not read for its package list. */
const SBOM_READ_LIMIT = 32 * 1024 * 1024;

const reportHref = (ref: BlobRef) => `${REPORT_FILES_DIR}/sha256/${digestHex(ref.digest)}`;

export interface BundleCheck {
  verified: boolean | null;
  keyid?: string;
  /** the error code of a failed verification (KEY_UNTRUSTED, SIGNATURE_INVALID, …) */
  code?: string;
  problem?: string;
  /** ISO 8601, when the check was made (default: when the report is built, right after it) */
  checkedAt?: string;
  /** who checked, in words (default: this airlock, in the command that sealed the run) */
  checkedBy?: string;
}

/** The bundle's files the page links, with what each is (in the order a reader wants them). */
const LINKED_FILES: readonly ReportBundleFile[] = [
  { name: BUNDLE_FILES.transcript, what: 'the hash-chained event log' },
  { name: BUNDLE_FILES.statement, what: 'the in-toto statement (SLSA provenance), as signed' },
  { name: BUNDLE_FILES.envelope, what: 'the DSSE envelope: statement and signature' },
  { name: BUNDLE_FILES.sigstore, what: 'the same signature as a Sigstore bundle' },
  { name: BUNDLE_FILES.manifest, what: 'the manifest: every blob by digest' },
  { name: 'junit.xml', what: 'JUnit XML, for CI' },
];

async function excerpt(cas: Cas, ref: StreamRef | undefined): Promise<ReportStream | undefined> {
  if (!ref) return undefined;
  let text = '';
  const present = await cas.has(ref.digest);
  if (ref.size > 0 && present) {
    for await (const chunk of cas.createReadStream(ref.digest).iterator({ destroyOnReturn: true })) {
      text += (chunk as Buffer).toString('utf8');
      if (text.length >= EXCERPT_BYTES) break;
    }
  }
  return { digest: ref.digest, size: ref.size, ...(present ? { href: reportHref(ref) } : {}), ...(text ? { excerpt: text.slice(0, EXCERPT_BYTES) } : {}) };
}

/** The blob with a link to its copy beside the page, when the CAS has the bytes to copy. */
async function linked(cas: Cas, ref: BlobRef): Promise<ReportBlob> {
  return { digest: ref.digest, size: ref.size, ...((await cas.has(ref.digest)) ? { href: reportHref(ref) } : {}) };
}

async function reportCell(cas: Cas, o: CellOutcome, startedAt: string, facts: TranscriptFacts): Promise<ReportRun['cells'][number]> {
  const f = facts.cells.get(o.id);
  const outputs = f
    ? await Promise.all(f.outputs.map(async ({ blob, ...entry }) => ({ ...entry, ...(blob ? { blob: await linked(cas, blob) } : {}) })))
    : [];
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
    ...(f?.image ? { image: f.image } : {}),
    ...(f?.enforcement ? { enforcement: f.enforcement } : {}),
    ...(outputs.length ? { outputs } : {}),
  };
}

/** Name and version of every package an SPDX document lists, but the image it describes. */
function sbomPackages(bytes: Buffer): { name: string; version: string }[] | undefined {
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { packages?: { SPDXID?: unknown; name?: unknown; versionInfo?: unknown; primaryPackagePurpose?: unknown }[] };
    if (!Array.isArray(doc.packages)) return undefined;
    return doc.packages
      .filter((p) => p.primaryPackagePurpose !== 'CONTAINER' && typeof p.name === 'string')
      .map((p) => ({ name: p.name as string, version: typeof p.versionInfo === 'string' ? p.versionInfo : '(no version)' }));
  } catch {
    return undefined;
  }
}

async function reportBases(cas: Cas, facts: TranscriptFacts): Promise<ReportBase[]> {
  return Promise.all(
    facts.bases.map(async (b) => {
      if (!b.sbom) return { ref: b.ref, rootfsDigest: b.rootfsDigest };
      const sbom = await linked(cas, b.sbom);
      const packages = sbom.href && b.sbom.size <= SBOM_READ_LIMIT ? sbomPackages(await cas.readBytes(b.sbom.digest)) : undefined;
      return { ref: b.ref, rootfsDigest: b.rootfsDigest, sbom, ...(packages ? { packages } : {}) };
    }),
  );
}

/** The sealed bundle's transcript, read for the page; a bundle whose transcript cannot be read still gets a page. */
async function readFacts(bundleDir: string): Promise<TranscriptFacts> {
  try {
    return transcriptFacts(parseTranscript(await readFile(join(bundleDir, BUNDLE_FILES.transcript), 'utf8')));
  } catch {
    return { cells: new Map(), bases: [], unreadable: 0 };
  }
}

/** The project root of a CAS (`<root>/artifacts`, workspace-paths.ts). */
const projectRoot = (cas: Cas) => dirname(resolve(cas.root));

/** This machine's paths, as the rules that keep them out of the reports. */
function machineRules(cas: Cas): PathRule[] {
  return pathRules({ projectRoot: projectRoot(cas), tmpdir: tmpdir(), homedir: homedir() });
}

/**
 * The run as the reports see it: cells with bounded log excerpts, their sandbox as read
 * back, outputs and image from the sealed transcript, the bases with their packages, and
 * the bundle's verification. Portable: no path of this machine, the bundle named relative
 * to the project root.
 */
export async function reportRun(result: RunResult, spec: string, axes: string[], cas: Cas, bundle: BundleCheck): Promise<ReportRun> {
  const startedAt = result.startedAt.toISOString();
  const facts = await readFacts(result.bundleDir);
  const present = await Promise.all(LINKED_FILES.map((f) => stat(join(result.bundleDir, f.name)).then((s) => s.isFile(), () => f.name === 'junit.xml')));
  const run: ReportRun = {
    runId: result.runId,
    spec,
    verdict: result.verdict,
    startedAt,
    durationMs: result.durationMs,
    hostname: hostname(),
    bundle: {
      ...(bundle.verified !== null ? { checkedAt: new Date().toISOString(), checkedBy: `airlock ${AIRLOCK_VERSION}, in the command that sealed the run` } : {}),
      ...bundle,
      dir: relative(projectRoot(cas), resolve(result.bundleDir)).split(sep).join('/') || '.',
    },
    files: LINKED_FILES.filter((_, i) => present[i]),
    axes,
    cells: await Promise.all(result.cells.map((o) => reportCell(cas, o, startedAt, facts))),
    bases: await reportBases(cas, facts),
  };
  return portableRun(run, machineRules(cas));
}

/** Every blob the page links (`href` into report-files/), found anywhere in the run. */
function linkedBlobs(run: ReportRun): BlobRef[] {
  const out = new Map<string, BlobRef>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const { digest, size, href } = v as Partial<ReportBlob>;
      if (typeof href === 'string' && href.startsWith(`${REPORT_FILES_DIR}/`) && digest && typeof size === 'number') out.set(digest, { digest, size });
      Object.values(v).forEach(walk);
    }
  };
  walk(run);
  return [...out.values()];
}

/**
 * Puts `report-files/sha256/<hex>` beside the page for each blob: a hard link to the CAS
 * file (no bytes copied), else a copy. Not `blobs/`: verify reads a bundle's own blobs/
 * first, and these copies are for reading, not the record. Returns the digests that failed.
 */
async function placeReportFiles(bundleDir: string, cas: Cas, blobs: readonly BlobRef[]): Promise<Set<string>> {
  const dir = join(bundleDir, REPORT_FILES_DIR, 'sha256');
  await mkdir(dir, { recursive: true });
  const failed = new Set<string>();
  for (const b of blobs) {
    const to = join(dir, digestHex(b.digest));
    if (await stat(to).then((s) => s.isFile() && s.size === b.size, () => false)) continue;
    const from = cas.pathOf(b.digest);
    try {
      await rm(to, { force: true });
      await link(from, to);
    } catch {
      try {
        const tmp = `${to}.${process.pid}.tmp`;
        await copyFile(from, tmp);
        await rename(tmp, to);
      } catch {
        failed.add(b.digest);
      }
    }
  }
  return failed;
}

/** The run without links to blobs that could not be placed beside the page. */
function dropLinks(run: ReportRun, failed: ReadonlySet<string>): ReportRun {
  if (failed.size === 0) return run;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    if (typeof o.digest === 'string' && failed.has(o.digest)) delete o.href;
    return o;
  };
  return walk(run) as ReportRun;
}

/**
 * Writes `junit.xml` and `report.html` next to the sealed bundle, and beside them the
 * copies of the blobs the page links (`report-files/`). They are views for people and CI,
 * not signed: the bundle's files are what verify checks. A last pass keeps the project
 * root out of both files whatever a message carried.
 */
export async function writeReports(run: ReportRun, cas: Cas): Promise<{ junit: string; html: string }> {
  const bundleDir = resolve(projectRoot(cas), run.bundle.dir);
  const junit = join(bundleDir, 'junit.xml');
  const html = join(bundleDir, 'report.html');
  const failed = await placeReportFiles(bundleDir, cas, linkedBlobs(run));
  const shown = dropLinks(run, failed);
  const rules = machineRules(cas).filter((r) => r.scope === 'project');
  await writeFileAtomic(junit, portableText(renderJunit(shown), rules));
  await writeFileAtomic(html, portableText(renderHtml(shown), rules));
  return { junit, html };
}
