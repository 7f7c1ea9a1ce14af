import type { Cell } from '../plan/matrix.js';
import type { Digest } from '../util/digest.js';
import type { StepOutcome } from '../proof/transcript-events-cell.js';

/** How a cell ended: `cached` is a pass replayed from the action cache. */
export type CellStatus = 'passed' | 'failed' | 'cached' | 'skipped' | 'error';

/**
 * Bytes the page names by digest. `href` is a link relative to the page (never absolute),
 * present only when a copy of the bytes sits beside the page (`report-files/`).
 */
export interface ReportBlob {
  digest: Digest;
  size: number;
  href?: string;
}

/** A captured stream: the full bytes by digest in the CAS, and optionally a bounded excerpt. */
export interface ReportStream extends ReportBlob {
  /** the beginning (or end) of the log as text, already bounded by whoever read it */
  excerpt?: string;
}

export interface ReportFailure {
  what: string;
  message: string;
  /** a bounded unified diff of expected against actual */
  diff?: string;
}

export interface ReportStep {
  name: string;
  verdict: StepOutcome;
  exitCode: number | null;
  durationMs: number;
  failures: ReportFailure[];
  stdout?: ReportStream;
  stderr?: ReportStream;
}

/** One setting of a cell's sandbox: what the engine (or QEMU's command line) says it enforced, next to what the policy asked. */
export interface ReportPolicyRow {
  setting: string;
  /** as read back, in words */
  enforced: string;
  /** what the signed policy asked, in the same words */
  policy: string;
  /** where `enforced` was read: Docker's field names, or QEMU's flags */
  from: string;
}

/** Where a cell ran and how it was sealed, from its `container` or `vm` transcript event. */
export interface ReportEnforcement {
  isolation: 'container' | 'gvisor' | 'vm';
  /** runc, runsc 2024…, qemu 7.2 (tcg) */
  runtime: string;
  /** the event's line in transcript.jsonl (1-based) */
  line: number;
  rows: ReportPolicyRow[];
  /** policy settings the spec loosened (from the signed policy) */
  loosened: string[];
  /** the cell's services, each sealed by the same rules */
  services: { name: string; user: string; network: string; line: number }[];
}

/** One entry of a collected output path. */
export interface ReportOutputEntry {
  /** `<output path>/<path inside it>` as the cell saw it */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  size: number;
  /** regular files: the content digest (and a link when the page has a copy) */
  blob?: ReportBlob;
  /** links: where they point */
  target?: string;
}

export interface ReportCell {
  /** unique in the run; the JUnit suite name and classname */
  id: string;
  /** the environment the cell belongs to, when a run has several */
  env?: string;
  /** axis → value (plus include-added keys) */
  cell: Cell;
  status: CellStatus;
  durationMs: number;
  cached: boolean;
  /** for a cache hit: the run whose signed record it replays */
  cachedFrom?: string;
  /** ISO 8601; defaults to the run's start */
  startedAt?: string;
  /** why a cell in status `error` has no (or incomplete) steps */
  error?: string;
  steps: ReportStep[];
  /** the image variant it ran in and that variant's normalized rootfs digest */
  image?: { variant: string; rootfsDigest?: Digest };
  /** how it was sealed, as read back; absent for a cell that did not start a sandbox in this run */
  enforcement?: ReportEnforcement;
  /** what the output paths held, as the transcript records them */
  outputs?: ReportOutputEntry[];
}

/** A base image the run's images are built on (the `inputs` event), with its packages when it was made from a lock. */
export interface ReportBase {
  ref: string;
  rootfsDigest: Digest | null;
  /** the SPDX 2.3 document derived from the base's lock (a signed subject) */
  sbom?: ReportBlob;
  /** name and version of every package in the SBOM, in its order */
  packages?: { name: string; version: string }[];
}

/** A file of the bundle the page links, beside the page. */
export interface ReportBundleFile {
  /** the file name, which is also the link (the page sits in the bundle's folder) */
  name: string;
  what: string;
}

/** Everything a report shows about one run; built from a bundle (or a finished run) by the caller. */
export interface ReportRun {
  runId: string;
  spec: string;
  verdict: 'passed' | 'failed' | 'error' | 'interrupted';
  /** ISO 8601 */
  startedAt: string;
  durationMs: number;
  /** the host the run ran on; JUnit wants one ('localhost' when unknown) */
  hostname?: string;
  bundle: {
    /** the bundle's folder relative to the project root (`proofs/<run-id>`); never an absolute path */
    dir: string;
    /** true: verified; false: verification failed; null: not checked */
    verified: boolean | null;
    keyid?: string;
    /** the error code of a failed verification */
    code?: string;
    /** why verification failed, when it did */
    problem?: string;
    /** ISO 8601: when the check was made (it was made before the page was written) */
    checkedAt?: string;
    /** who made the check, in words (`airlock 0.9.0, in the command that sealed the run`) */
    checkedBy?: string;
  };
  /** the bundle's own files the page links (they sit beside it) */
  files?: ReportBundleFile[];
  /** the matrix axes in spec order; empty for a run without a matrix */
  axes: string[];
  cells: ReportCell[];
  /** the bases the run's images are built on (all stages), from the transcript's `inputs` event */
  bases?: ReportBase[];
}
