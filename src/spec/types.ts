/**
 * The normalized spec: what the rest of airlock consumes once `airlock.yaml` has been
 * parsed, validated, defaulted and resolved. Nothing here is optional unless it is
 * optional for the orchestrator too; units are already parsed (ms, bytes).
 */
import type { Digest } from '../util/digest.js';

export interface Spec {
  version: 1;
  name: string;
  images: Record<string, ImageSpec>;
  environments: Record<string, EnvironmentSpec>;
  matrix?: MatrixSettings;
  /** fetched by pinned sha256 before any build; in every build context at `.airlock/inputs/<name>` */
  inputs: InputDecl[];
  /** the project's own Debian bases, by name (image `airlock/<spec name>/<name>`) */
  bases: Record<string, BaseDecl>;
}

export interface BaseDecl {
  debian: 'bookworm';
  packages: string[];
}

export interface InputDecl {
  name: string;
  url: string;
  /** 64 hex digits; else the lock's pin */
  sha256?: string;
}

export type MatrixValue = string | number | boolean;

export interface MatrixSettings {
  /** the environment run once per cell */
  environment: string;
  axes: Record<string, MatrixValue[]>;
  include: Record<string, MatrixValue>[];
  exclude: Record<string, MatrixValue>[];
  /** default: the number of CPUs */
  maxParallel?: number;
  failFast: boolean;
  cellTimeoutMs?: number;
}

export interface ServiceSpec {
  name: string;
  /** a key of `Spec.images`, or a local engine image */
  image: string;
  run?: string[];
  env: Record<string, string>;
  healthcheck?: { test: string[]; intervalMs: number; timeoutMs: number; retries: number; startPeriodMs: number };
  wait?: { log: string } | { command: string[] } | { port: number };
  startupTimeoutMs: number;
  /** resolved like an environment's: defaults ⊕ top-level ⊕ the service's own */
  policy: Policy;
}

export interface ImageSpec {
  /** as written, relative to the spec dir */
  dockerfile: string;
  /** as written, relative to the spec dir; default "." */
  context: string;
  /** the stage of a multi-stage Dockerfile to build */
  target?: string;
  args: Record<string, string>;
  labels: Record<string, string>;
}

export interface EnvironmentSpec {
  /** a key of `Spec.images` */
  image: string;
  env: Record<string, string>;
  /** absolute container path */
  workdir?: string;
  steps: StepSpec[];
  /** absolute container paths copied out after the steps */
  outputs: string[];
  /** resolved: DEFAULT_POLICY ⊕ top-level policy ⊕ environment policy */
  policy: Policy;
  /** started healthy on the cell's internal network before the steps */
  services: ServiceSpec[];
  isolation: Isolation;
  /** resolved guest settings when isolation is vm */
  vm?: VmSettings;
}

export type Isolation = 'container' | 'gvisor' | 'vm';

export interface VmSettings {
  memoryBytes: number;
  cpus: number;
  kernel: 'debian-cloud';
  accel: 'auto' | 'kvm' | 'tcg';
  /** hard wall-clock limit of the whole guest */
  timeoutMs: number;
}

export interface StepSpec {
  /** default "step-<index+1>", unique within its environment */
  name: string;
  /** argv; a command string in the spec becomes ["/bin/sh", "-c", string] */
  run: string[];
  env: Record<string, string>;
  /** step.timeout ?? policy.timeoutMs */
  timeoutMs: number;
  expect: Expect;
}

export interface Expect {
  /** default 0 */
  exit: number;
  stdout?: OutputMatch;
  stderr?: OutputMatch;
}

export type OutputMatch =
  /** `file` is an ABSOLUTE path, resolved against the spec dir */
  | { file: string }
  | { contains: string }
  | { matches: string }
  | { equals: string };

export interface Policy {
  network: 'none';
  readOnlyRootfs: boolean;
  tmpfs: string[];
  user: string;
  memoryBytes: number;
  pids: number;
  cpus: number;
  /** default timeout of each step */
  timeoutMs: number;
  /** policy keys (as written in `policy.loosen`) this environment loosened, explicitly allowed */
  loosened: string[];
}

export interface LoadedSpec {
  /** absolute */
  file: string;
  /** absolute dir of `file` */
  dir: string;
  text: string;
  /** of the file bytes */
  digest: Digest;
  spec: Spec;
}

/** One problem found in a spec file, positioned for humans and editors (1-based). */
export interface SpecIssue {
  /** rendered like `environments.smoke.steps[1].run`; "" for the whole document */
  path: string;
  line: number;
  column: number;
  message: string;
}
