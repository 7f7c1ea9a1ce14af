import { z } from 'zod';
import { DigestSchema } from './digest-schema.js';
import { EnvelopeSchema } from './dsse.js';
import { SigstoreBundleSchema } from './sigstore-bundle.js';

/** The files of a proof bundle (`proofs/<run-id>/`). */
export const BUNDLE_FILES = {
  transcript: 'transcript.jsonl',
  manifest: 'bundle.json',
  statement: 'statement.json',
  envelope: 'envelope.dsse.json',
  /** the same envelope as a Sigstore bundle v0.3, for sigstore-js and cosign */
  sigstore: 'envelope.sigstore.json',
  summary: 'summary.txt',
} as const;

export const BUNDLE_VERSION = 1;

export const ManifestBlobSchema = z.strictObject({
  digest: DigestSchema,
  size: z.int().nonnegative(),
  /** what the bytes are to the run: "output", "stdout", "stderr", "context", … */
  role: z.string().min(1),
  /** a human name: the output's path, the step that printed it */
  name: z.string(),
});
/** One CAS blob a bundle refers to; the bytes live at `blobs/sha256/<hex>` in a CAS root. */
export type ManifestBlob = z.infer<typeof ManifestBlobSchema>;

export const ManifestSchema = z
  .strictObject({
    bundleVersion: z.literal(BUNDLE_VERSION),
    runId: z.string().min(1),
    transcript: z.strictObject({
      path: z.literal(BUNDLE_FILES.transcript),
      /** sha256 of the whole file */
      digest: DigestSchema,
      /** digest of its last line: the head of the hash chain */
      head: DigestSchema,
    }),
    blobs: z.array(ManifestBlobSchema),
  })
  .meta({ title: 'airlock bundle manifest', description: 'bundle.json, written as RFC 8785 canonical JSON' });
export type Manifest = z.infer<typeof ManifestSchema>;

/** JSON Schema (2020-12) of a bundle's `bundle.json` and `envelope.dsse.json`; written to spec/bundle.schema.json. */
export function bundleJsonSchema(): Record<string, unknown> {
  const def = (schema: z.ZodType) => {
    const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12' });
    return rest;
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://airlock.dev/schemas/bundle.schema.json',
    title: 'airlock proof bundle',
    description:
      'The machine-read files of proofs/<run-id>/: bundle.json (the manifest), envelope.dsse.json ' +
      '(DSSE envelope over an in-toto Statement v1 with a SLSA Provenance v1 predicate) and envelope.sigstore.json ' +
      '(the same envelope as a Sigstore bundle v0.3). See docs/formats.md.',
    $defs: {
      manifest: def(ManifestSchema),
      envelope: def(EnvelopeSchema),
      sigstoreBundle: def(SigstoreBundleSchema),
    },
    anyOf: [{ $ref: '#/$defs/manifest' }, { $ref: '#/$defs/envelope' }, { $ref: '#/$defs/sigstoreBundle' }],
  };
}

/** {@link bundleJsonSchema} as the exact text of spec/bundle.schema.json. */
export function bundleJsonSchemaText(): string {
  return `${JSON.stringify(bundleJsonSchema(), null, 2)}\n`;
}
