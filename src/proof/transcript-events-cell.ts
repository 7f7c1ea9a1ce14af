import { z } from 'zod';
import { DigestSchema } from './digest-schema.js';
import {
  BlobRefSchema,
  CachedStepSchema,
  ErrorJsonSchema,
  OutputEntrySchema,
  OutputSetSchema,
  PolicySchema,
  ReadbackSchema,
  VariationSchema,
} from './transcript-events-common.js';

/**
 * The events of one cell: its lifecycle (`cell`), where it ran (`network`, `service`,
 * `container`, `vm`), what it did (`step`, `output`) and its removal (`teardown`).
 * `env` in these events is the cell id (a matrix cell is `t[n=1]`).
 */

const CellStartedSchema = z.object({
  cell: z.string().min(1),
  env: z.string().min(1),
  matrix: z.record(z.string(), z.unknown()).nullable(),
  state: z.literal('started'),
  /** the image variant key (`<image>@<args hash>`) */
  image: z.string().min(1),
  /** the node it was placed on, in a multi-engine run */
  node: z.string().min(1).optional(),
});

const KeyChangeSchema = z.object({ component: z.string(), path: z.string(), old: z.unknown(), new: z.unknown(), detail: z.string().optional() });

const finished = { cell: z.string().min(1), state: z.literal('finished') };
const keyed = { key: DigestSchema, components: z.record(z.string(), DigestSchema), steps: z.array(CachedStepSchema), outputs: z.array(OutputSetSchema) };

export const CellEventSchema = z.union([
  CellStartedSchema,
  z.object({
    ...finished,
    ...keyed,
    status: z.literal('cached'),
    /** the signed record this cache hit replays */
    cachedFrom: z.object({
      runId: z.string(),
      bundleDir: z.string(),
      transcriptSeq: z.int().nonnegative(),
      /** from the shared remote cache: which one (URL as shown) and the trusted key that signed the entry */
      remote: z.object({ cache: z.string(), keyid: z.string() }).optional(),
    }),
  }),
  z.object({
    ...finished,
    ...keyed,
    status: z.enum(['passed', 'failed']),
    missReason: z.enum(['no-cache', 'first-run', 'inputs-changed', 'blobs-missing']),
    keyChanges: z.array(KeyChangeSchema),
  }),
  z.object({ ...finished, status: z.literal('skipped'), reason: z.string() }),
  /** its node stopped answering mid-cell: this attempt ended, the cell starts again on another node */
  z.object({ cell: z.string().min(1), state: z.literal('retried'), node: z.string().min(1), reason: z.string(), error: ErrorJsonSchema }),
  z.object({ ...finished, status: z.literal('error'), error: ErrorJsonSchema }),
]);

export const NetworkEventSchema = z.object({
  cell: z.string().min(1),
  id: z.string().min(1),
  name: z.string().min(1),
  /** the network as the engine read it back: `Internal: true` means no egress */
  readback: z.object({ Internal: z.boolean(), Driver: z.string(), IPAM: z.unknown(), Labels: z.record(z.string(), z.string()) }),
});

/** The helper volume a container on a node mounted instead of the controller's file (helper-volume.ts). */
const HelperVolumeSchema = z.object({ source: z.string().min(1), target: z.string().min(1) });

export const ServiceEventSchema = z.object({
  cell: z.string().min(1),
  /** the node that ran it and read it back, in a multi-engine run */
  node: z.string().min(1).optional(),
  helper: HelperVolumeSchema.optional(),
  name: z.string().min(1),
  containerId: z.string().min(1),
  /** the policy the service was created for */
  policy: PolicySchema,
  /** the user the engine reports the service runs as (Config.User) */
  user: z.string(),
  hostConfig: ReadbackSchema,
  networkAliases: z.array(z.string()),
  networks: z.array(z.string()),
  endpoint: ReadbackSchema,
  ip: z.string(),
  healthyAfterMs: z.number().nonnegative(),
  strategy: z.string(),
});

export const ContainerEventSchema = z.object({
  env: z.string().min(1),
  /** the node that ran it and read it back, in a multi-engine run */
  node: z.string().min(1).optional(),
  helper: HelperVolumeSchema.optional(),
  containerId: z.string().min(1),
  image: z.string(),
  imageId: z.string(),
  /** the user the engine reports the cell runs as (Config.User) */
  user: z.string(),
  isolation: z.enum(['container', 'gvisor']),
  runtime: z.object({ name: z.string().min(1), path: z.string().nullable().optional(), version: z.string().nullable().optional() }),
  /** the policy the cell was created for */
  policy: PolicySchema,
  variation: VariationSchema.optional(),
  /** the cell's internal services network, as read back */
  network: z.object({ id: z.string(), name: z.string(), internal: z.boolean() }).optional(),
  hostConfig: ReadbackSchema,
});

export const VmEventSchema = z.object({
  env: z.string().min(1),
  image: z.string(),
  imageId: z.string(),
  isolation: z.literal('vm'),
  nic: z.literal('none'),
  accel: z.object({ used: z.enum(['kvm', 'tcg']), reason: z.string() }),
  qemu: z.object({ binary: z.string(), version: z.string(), argv: z.array(z.string()) }),
  kernel: z.object({ path: z.string(), sha256: z.string(), version: z.string(), release: z.string() }),
  guestRoot: z.record(z.string(), z.unknown()),
  bootLog: BlobRefSchema,
  bootMs: z.number(),
  totalMs: z.number(),
  policy: PolicySchema,
  guestError: z.string().optional(),
});

const OutputMatchSchema = z.union([z.object({ file: z.string() }), z.object({ contains: z.string() }), z.object({ matches: z.string() }), z.object({ equals: z.string() })]);
const ExpectSchema = z.object({ exit: z.int(), stdout: OutputMatchSchema.optional(), stderr: OutputMatchSchema.optional() });

const stepBase = { env: z.string().min(1), index: z.int().nonnegative(), name: z.string(), argv: z.array(z.string()) };

export const StepEventSchema = z.union([
  z.object({
    ...stepBase,
    stepEnv: z.record(z.string(), z.string()),
    timeoutMs: z.int().nonnegative(),
    exitCode: z.int(),
    timedOut: z.boolean(),
    durationMs: z.number().nonnegative(),
    stdout: BlobRefSchema,
    stderr: BlobRefSchema,
    expect: ExpectSchema,
    verdict: z.enum(['pass', 'fail', 'timeout']),
    failures: z.array(z.object({ what: z.enum(['exit', 'stdout', 'stderr', 'timeout']), message: z.string(), diff: z.string().optional() })),
  }),
  z.object({ ...stepBase, verdict: z.literal('skipped') }),
]);

/** How a step ended, as its transcript event says: the one list of step verdicts. */
export type StepVerdict = z.infer<typeof StepEventSchema>['verdict'];
/** A step's verdict where a cell error can also end it (the ledger's rows, the report). */
export type StepOutcome = StepVerdict | 'error';

export const OutputEventSchema = z.union([
  z.object({ env: z.string().min(1), path: z.string(), entries: z.array(OutputEntrySchema) }),
  z.object({ env: z.string().min(1), error: z.string() }),
]);

export const TeardownEventSchema = z.union([
  /** the run's sweep of everything labelled with its id */
  z.object({ run: z.string().min(1), removed: z.unknown() }),
  /** a cell's services and network */
  z.object({ cell: z.string().min(1), services: z.array(z.string()), network: z.string().nullable() }),
  z.object({ env: z.string().min(1), containerId: z.string().min(1), removed: z.boolean() }),
  z.object({ env: z.string().min(1), vm: z.literal(true), removed: z.boolean() }),
]);
