import { z } from 'zod';
import { AirlockError } from '../errors.js';
import { type Envelope, EnvelopeSchema } from './dsse.js';

/**
 * The same DSSE envelope as a Sigstore bundle (protobuf-specs `sigstore_bundle.proto`, v0.3, in its
 * JSON form), so that sigstore-js and `cosign verify-blob-attestation --bundle … --key …` read it.
 * The verification material is a public-key hint (the keyid) rather than a certificate: airlock signs
 * with a project key, not a Fulcio identity, and nothing is uploaded to a transparency log, so
 * `tlogEntries` is empty and a verifier must be told not to require one.
 */

export const SIGSTORE_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export const SigstoreBundleSchema = z
  .looseObject({
    mediaType: z.literal(SIGSTORE_BUNDLE_MEDIA_TYPE),
    verificationMaterial: z.looseObject({
      publicKey: z.looseObject({ hint: z.string() }),
      tlogEntries: z.array(z.unknown()).optional(),
    }),
    dsseEnvelope: EnvelopeSchema,
  })
  .meta({ title: 'Sigstore bundle v0.3', description: 'envelope.sigstore.json: the DSSE envelope in a Sigstore bundle' });

export type SigstoreBundle = z.infer<typeof SigstoreBundleSchema>;

/** Wraps an envelope signed by one key; `keyid` becomes the public-key hint. */
export function toSigstoreBundle(envelope: Envelope, keyid: string): SigstoreBundle {
  return {
    mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint: keyid }, tlogEntries: [] },
    dsseEnvelope: {
      payload: envelope.payload,
      payloadType: envelope.payloadType,
      signatures: envelope.signatures.map(({ sig, keyid: id }) => ({ sig, keyid: id })),
    },
  };
}

/**
 * The DSSE envelope inside a Sigstore bundle, every bad field named. Throws ENVELOPE_MALFORMED:
 * for airlock the bundle is just another wrapping of the envelope it verifies.
 */
export function envelopeFromSigstoreBundle(bytes: Buffer, where: string): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new AirlockError('ENVELOPE_MALFORMED', `${where} is not JSON`, { details: { what: 'envelope', where } });
  }
  const parsed = SigstoreBundleSchema.safeParse(value);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.') || '(bundle)'}: ${i.message}`);
    throw new AirlockError('ENVELOPE_MALFORMED', `${where} is not a Sigstore v0.3 DSSE bundle: ${fields.join('; ')}`, {
      details: { what: 'envelope', where, fields },
    });
  }
  return parsed.data.dsseEnvelope;
}
