import { z } from 'zod';
import { DigestSchema } from './digest-schema.js';

/**
 * Shapes several phases share. Event data schemas are `z.object`: a reader sees the
 * fields named here and nothing else, so a field the vocabulary lacks cannot be
 * read without first being added here.
 */

/** `{ digest, size }`: a pointer at bytes kept in the CAS (see collectBlobRefs). */
export const BlobRefSchema = z.object({ digest: DigestSchema, size: z.int().nonnegative() });

/** An AirlockError as `toJSON()` writes it. */
export const ErrorJsonSchema = z.object({ code: z.string().min(1), message: z.string(), details: z.record(z.string(), z.unknown()) });

/** What `airlock repro` varied in a run (engine/variation.ts). */
export const VariationSchema = z.object({
  hostname: z.string().optional(),
  domainname: z.string().optional(),
  tz: z.string().optional(),
  locale: z.string().optional(),
  umask: z.string().optional(),
  user: z.string().optional(),
  cpuset: z.string().optional(),
  workdir: z.string().optional(),
  reverseEnvOrder: z.boolean().optional(),
  faketime: z.string().optional(),
  faketimeLibrary: z.string().optional(),
});

/** The resolved sandbox policy a cell or service was created for (spec/types.ts Policy). */
export const PolicySchema = z.object({
  network: z.literal('none'),
  readOnlyRootfs: z.boolean(),
  tmpfs: z.array(z.string()),
  user: z.string(),
  // not bounded here: a zero limit is the policy check's to name (POLICY_NOT_ENFORCED), not a shape error
  memoryBytes: z.int().nonnegative(),
  pids: z.int().nonnegative(),
  cpus: z.number().nonnegative(),
  timeoutMs: z.int().nonnegative(),
  loosened: z.array(z.string()),
});

/** One entry of a collected output tree (archive/extract.ts OutputEntry). */
export const OutputEntrySchema = z.object({
  path: z.string(),
  type: z.enum(['file', 'dir', 'symlink', 'hardlink']),
  mode: z.int().nonnegative(),
  size: z.int().nonnegative(),
  digest: DigestSchema.optional(),
  target: z.string().optional(),
});

export const OutputSetSchema = z.object({ path: z.string(), entries: z.array(OutputEntrySchema) });

/** A step's result as the action cache keeps it (cache/action-cache.ts CachedStep). */
export const CachedStepSchema = z.object({
  name: z.string(),
  verdict: z.enum(['pass', 'fail', 'timeout', 'skipped']),
  exitCode: z.int().nullable(),
  timedOut: z.boolean(),
  durationMs: z.number().nonnegative(),
  stdout: BlobRefSchema.optional(),
  stderr: BlobRefSchema.optional(),
});

/** A Docker read-back (HostConfig, a network's inspect), Docker's own field names. */
export const ReadbackSchema = z.record(z.string(), z.unknown());
