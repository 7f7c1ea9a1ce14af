import { z } from 'zod';
import { DigestSchema } from './digest-schema.js';
import { BlobRefSchema, ErrorJsonSchema, VariationSchema } from './transcript-events-common.js';

/**
 * The events of a run as a whole: where it ran (`environment`), what went in (`fetch`,
 * `inputs`), the images (`build`, `image`), how it ended (`run`), and a repro's verdict
 * (`repro`).
 */

const EngineSchema = z.object({
  version: z.string(),
  apiVersion: z.string(),
  os: z.string(),
  arch: z.string(),
  kernel: z.string(),
  storageDriver: z.string(),
  cgroupVersion: z.string(),
  runtimes: z.array(z.string()),
  defaultRuntime: z.string(),
  product: z.enum(['docker', 'podman', 'unknown']),
});

/**
 * An engine of a multi-engine run: airlock's name for the node (several engines on one host
 * report the same engine ID and host name), its address, what it says of itself, and the
 * CPUs and memory cells were placed against.
 */
export const NodeSchema = z.object({
  name: z.string().min(1),
  endpoint: z.string().min(1),
  engine: EngineSchema.extend({ id: z.string(), hostname: z.string() }),
  capacity: z.object({ cpus: z.number().positive(), memoryBytes: z.number().nonnegative() }),
});

export const EnvironmentEventSchema = z.object({
  /** the engine images are built on (and cells run on, without `nodes`) */
  engine: EngineSchema,
  /** the engines cells were placed on (AIRLOCK_ENGINES or the user config); absent: the one engine */
  nodes: z.array(NodeSchema).optional(),
  /** listed engines that did not answer at the start, left out of the run */
  unreachable: z.array(z.object({ name: z.string(), endpoint: z.string(), error: ErrorJsonSchema })).optional(),
  host: z.object({ platform: z.string(), release: z.string(), arch: z.string(), cpus: z.int().nonnegative(), node: z.string() }),
  airlock: z.object({ version: z.string() }),
  /** the locked busybox every cell mounts read-only */
  helper: z.object({ path: z.string(), package: z.string(), deb: DigestSchema, digest: DigestSchema, size: z.int().nonnegative() }),
  variation: VariationSchema.optional(),
});

/** An image put on the node that runs a cell (streamed when missing), its rootfs measured there. */
export const ShipEventSchema = z.object({
  node: z.string().min(1),
  imageId: z.string().min(1),
  /** measured on the node: the same as where the image was built, or the cell does not start */
  rootfsDigest: DigestSchema,
  /** whether bytes moved (false: the node had the image already) */
  transferred: z.boolean(),
  durationMs: z.number().nonnegative(),
});

export const FetchEventSchema = z.object({
  inputs: z.array(
    z.object({
      name: z.string(),
      url: z.string(),
      finalUrl: z.string(),
      digest: DigestSchema,
      size: z.int().nonnegative(),
      source: z.enum(['cache', 'network']),
      attempts: z.int().nonnegative(),
    }),
  ),
});

const pathRef = BlobRefSchema.extend({ path: z.string() });

/** A base image the run's images are built on, as inspected (and its SBOM when made from a lock). */
export const BaseInputSchema = z.object({ ref: z.string().min(1), imageId: z.string(), rootfsDigest: DigestSchema.nullable(), sbom: BlobRefSchema.optional() });

export const InputsEventSchema = z.object({
  spec: pathRef,
  dockerfiles: z.array(pathRef),
  contexts: z.array(BlobRefSchema.extend({ dir: z.string(), entries: z.int().nonnegative() })),
  goldens: z.array(pathRef),
  bases: z.array(BaseInputSchema),
  locks: z.array(pathRef),
  /** this run replays a sealed bundle */
  replayOf: z.object({ runId: z.string(), bundleDir: z.string(), envelopeDigest: DigestSchema }).optional(),
});

const variantOf = { image: z.string().min(1), variant: z.string().min(1), target: z.string().nullable(), tag: z.string(), args: z.record(z.string(), z.string()) };

export const BuildEventSchema = z.union([
  z.object({ ...variantOf, error: z.string(), step: z.unknown(), log: BlobRefSchema }),
  z.object({ ...variantOf, context: DigestSchema, imageId: z.string(), buildKey: z.string(), cached: z.literal(true) }),
  z.object({ ...variantOf, dockerfile: z.string(), context: DigestSchema, imageId: z.string(), buildKey: z.string(), durationMs: z.number().nonnegative(), log: BlobRefSchema }),
]);

export const ImageEventSchema = z.object({
  image: z.string().min(1),
  variant: z.string().min(1),
  imageId: z.string(),
  /** normalized rootfs digest: the image's identity */
  rootfsDigest: DigestSchema,
  listing: BlobRefSchema,
});

export const RunEventSchema = z.union([
  z.object({ error: ErrorJsonSchema }),
  z.object({
    verdict: z.enum(['passed', 'failed', 'error', 'interrupted']),
    exitCode: z.int(),
    durationMs: z.number().nonnegative(),
    cells: z.array(z.object({ cell: z.string(), status: z.string() })),
  }),
]);

const ReproVerdictSchema = z.enum(['reproducible', 'not-reproducible']);

/** A run a repro made (compared, or an attribution experiment): its own sealed bundle, by envelope and manifest. */
const reproRunFields = {
  index: z.int().positive(),
  runId: z.string(),
  verdict: z.string(),
  variation: VariationSchema.nullable(),
  startedAt: z.string(),
  finishedAt: z.string(),
  envelope: BlobRefSchema,
  manifest: BlobRefSchema,
};

export const ReproEventSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('spec'), name: z.string(), path: z.string(), spec: BlobRefSchema, runs: z.int().positive(), strict: z.boolean() }),
  z.object({ kind: z.literal('variations'), dimensions: z.array(z.object({ dimension: z.string(), status: z.string(), reason: z.string(), values: z.array(z.string()) })) }),
  z.object({
    kind: z.literal('run'),
    ...reproRunFields,
    images: z.array(z.object({ key: z.string(), imageId: z.string(), rootfsDigest: DigestSchema, listing: BlobRefSchema.optional() })),
  }),
  z.object({
    kind: z.literal('experiment'),
    ...reproRunFields,
    /** 'control' (nothing varied) or the one dimension varied */
    label: z.string(),
    differing: z.int().nonnegative(),
  }),
  // each differing path with its causes as the experiments proved them (repro/attribution.ts); read back only by people
  z.object({ kind: z.literal('attribution'), paths: z.array(z.unknown()) }),
  z.object({
    kind: z.literal('comparison'),
    runs: z.tuple([z.int(), z.int()]),
    reproducible: z.boolean(),
    // the comparison's own tables (repro/compare-runs.ts); read back only by people
    images: z.array(z.unknown()),
    cells: z.array(z.unknown()),
    steps: z.array(z.unknown()),
    outputs: z.array(z.unknown()),
    differences: z.array(z.unknown()),
  }),
  z.object({
    kind: z.literal('verdict'),
    verdict: ReproVerdictSchema,
    images: z.record(z.string(), ReproVerdictSchema),
    outputs: z.record(z.string(), ReproVerdictSchema),
    cells: z.record(z.string(), ReproVerdictSchema),
    reports: z.record(z.string(), BlobRefSchema),
  }),
]);
