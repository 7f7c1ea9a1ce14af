import { createPublicKey, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { z } from 'zod';
import { AirlockError } from '../errors.js';
import { privateKeyObject, type PublicKey, type SigningKey, spkiDer } from './keys.js';

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
// one alphabet per string. Checked by one pass over the characters: a payload is as big
// as the statement (megabytes for runs with many outputs), and a backtracking regex over
// it overflowed the stack.
const STD_EXTRA = '+/';
const URL_EXTRA = '-_';

/** Standard or URL-safe base64, one alphabet, groups of 4 with an optional 2- or 3-character tail padded or not. */
export function isBase64(s: string): boolean {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x3d /* = */ && s.length - end < 2) end--;
  const padding = s.length - end;
  const tail = end % 4;
  if (tail === 1 || (padding > 0 && tail + padding !== 4)) return false;
  let extra: string | undefined;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (alnum) continue;
    const ch = s[i]!;
    const alphabet = STD_EXTRA.includes(ch) ? STD_EXTRA : URL_EXTRA.includes(ch) ? URL_EXTRA : undefined;
    if (alphabet === undefined || (extra !== undefined && extra !== alphabet)) return false;
    extra = alphabet;
  }
  return true;
}

/** The same language as a regular expression, for JSON Schema readers only (airlock never runs it). */
const BASE64_PATTERN =
  '^(?:(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?|(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?)$';
const Base64Schema = z.string().refine(isBase64, 'expected standard or URL-safe base64').meta({ pattern: BASE64_PATTERN });

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

const SIGNATURE_BYTES = 64;

export function signEnvelope(payloadType: string, payload: Uint8Array, key: SigningKey): Envelope {
  // Ed25519 is deterministic (RFC 8032): OpenSSL's signature is the one tweetnacl made, in well under 1 ms
  const sig = cryptoSign(null, pae(payloadType, payload), privateKeyObject(key.seed));
  return {
    payloadType,
    payload: Buffer.from(payload).toString('base64'),
    signatures: [{ keyid: key.keyid, sig: Buffer.from(sig).toString('base64') }],
  };
}

/**
 * Ed25519 verification (RFC 8032) by OpenSSL through node:crypto. tweetnacl signed and
 * verified until its JavaScript proved to be ~60 ms of a one-shot `airlock verify`
 * (cold JIT; issue 12) where OpenSSL takes well under 1 ms. OpenSSL also refuses a
 * non-canonical S (S >= L), as RFC 8032 requires and tweetnacl did not: never weaker.
 */
function ed25519Verifies(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  try {
    return cryptoVerify(null, message, createPublicKey({ key: spkiDer(publicKey), format: 'der', type: 'spki' }), signature);
  } catch {
    return false; // a key OpenSSL cannot use verifies nothing
  }
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
      if (ed25519Verifies(message, signature, key.publicKey)) {
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
      ? `signed by ${named.join(', ')}, but there are no trusted keys to verify with (locks/keys/*.pub.pem, or --key PEM)`
      : `signed by ${named.join(', ')}, which no trusted key matches (locks/keys/*.pub.pem, or --key PEM)`,
    { details: { keyids: named, trusted: trusted.map((k) => k.keyid) } },
  );
}
