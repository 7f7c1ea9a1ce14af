import type { Cell } from '../plan/matrix.js';
import type { Digest } from '../util/digest.js';

/** How a cell ended: `cached` is a pass replayed from the action cache. */
export type CellStatus = 'passed' | 'failed' | 'cached' | 'skipped' | 'error';
export type ReportStepVerdict = 'pass' | 'fail' | 'timeout' | 'skipped' | 'error';

/** A captured stream: the full bytes by digest in the CAS, and optionally a bounded excerpt. */
export interface ReportStream {
  digest: Digest;
  size: number;
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
  verdict: ReportStepVerdict;
  exitCode: number | null;
  durationMs: number;
  failures: ReportFailure[];
  stdout?: ReportStream;
  stderr?: ReportStream;
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
    dir: string;
    /** true: verified; false: verification failed; null: not checked */
    verified: boolean | null;
    keyid?: string;
    /** why verification failed, when it did */
    problem?: string;
  };
  /** the matrix axes in spec order; empty for a run without a matrix */
  axes: string[];
  cells: ReportCell[];
}
