import nacl from 'tweetnacl';
import { z } from 'zod';
import { AirlockError } from '../errors.js';
import { naclSecretKey, type PublicKey, type SigningKey } from './keys.js';

/**
 * DSSE v1 (secure-systems-lab/dsse, protocol.md and envelope.md).
 * The signature covers PAE(payloadType, payload), never the envelope's JSON.
 */

/** `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in bytes as ASCII decimal. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    payload,
  ]);
}

// DSSE verifiers must accept standard and URL-safe base64 alike (padding optional);
// one alphabet per string.
const STD = '(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?';
const URL_SAFE = '(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?';
const BASE64 = new RegExp(`^(?:${STD}|${URL_SAFE})$`);
const Base64Schema = z.string().regex(BASE64, 'expected standard or URL-safe base64');

export const SignatureSchema = z.looseObject({
  /** unauthenticated hint naming the key; airlock writes the key's id (hex sha256 of its SPKI DER) */
  keyid: z.string(),
  sig: Base64Schema,
});

// Loose: fields other tools add are allowed (and ignored), as DSSE readers should.
export const EnvelopeSchema = z
  .looseObject({
    payloadType: z.string().min(1),
    payload: Base64Schema,
    signatures: z.array(SignatureSchema).min(1),
  })
  .meta({ title: 'DSSE envelope', description: 'envelope.dsse.json' });

export type Envelope = z.infer<typeof EnvelopeSchema>;

/** Decodes either base64 alphabet (Node's decoder reads both); validate with the schema first. */
export function decodeBase64(s: string): Buffer {
  return Buffer.from(s, 'base64');
}

export function signEnvelope(payloadType: string, payload: Uint8Array, key: SigningKey): Envelope {
  const sig = nacl.sign.detached(pae(payloadType, payload), naclSecretKey(key));
  return {
    payloadType,
    payload: Buffer.from(payload).toString('base64'),
    signatures: [{ keyid: key.keyid, sig: Buffer.from(sig).toString('base64') }],
  };
}

/**
 * Accepts the envelope when one signature verifies against a trusted key and
 * returns that key's id. The keyid only narrows which trusted key to try (DSSE
 * says it must not decide anything); an empty keyid means "try them all".
 *
 * KEY_UNTRUSTED: no signature names a trusted key (or, without a keyid, verifies
 * with one). SIGNATURE_INVALID: a signature names a trusted key but does not verify.
 */
export function verifyEnvelope(env: Envelope, trusted: readonly PublicKey[]): { keyid: string } {
  const message = pae(env.payloadType, decodeBase64(env.payload));
  const failed: string[] = [];
  for (const { keyid, sig } of env.signatures) {
    const signature = decodeBase64(sig);
    const candidates = keyid === '' ? trusted : trusted.filter((k) => k.keyid === keyid);
    for (const key of candidates) {
      if (signature.length === nacl.sign.signatureLength && nacl.sign.detached.verify(message, signature, key.publicKey)) {
        return { keyid: key.keyid };
      }
    }
    if (keyid !== '' && candidates.length > 0) failed.push(keyid);
  }
  if (failed.length > 0) {
    throw new AirlockError('SIGNATURE_INVALID', `the signature by trusted key ${failed[0]} does not verify`, {
      details: { keyids: failed },
    });
  }
  const named = env.signatures.map((s) => s.keyid || '(no keyid)');
  throw new AirlockError(
    'KEY_UNTRUSTED',
    trusted.length === 0
      ? 'no trusted keys to verify with (locks/keys/*.pub.pem)'
      : `signed by ${named.join(', ')}, none of which is a trusted key`,
    { details: { keyids: named, trusted: trusted.map((k) => k.keyid) } },
  );
}
