import { type Envelope, decodeBase64, verifyEnvelope } from '../proof/dsse.js';
import type { PublicKey } from '../proof/keys.js';
import { BUNDLE_FILES } from '../proof/manifest.js';
import { AirlockError } from '../errors.js';
import { verifyError } from './fail.js';

export interface SignedPayload {
  keyid: string;
  payloadType: string;
  /** the payload bytes, now authenticated */
  payload: Buffer;
}

/** DSSE signature over PAE(payloadType, payload) by one of the trusted keys. */
export function checkSignature(envelope: Envelope, trustedKeys: readonly PublicKey[]): SignedPayload {
  try {
    const { keyid } = verifyEnvelope(envelope, trustedKeys);
    return { keyid, payloadType: envelope.payloadType, payload: decodeBase64(envelope.payload) };
  } catch (e) {
    if (!(e instanceof AirlockError)) throw e;
    throw verifyError(e.code, e.message, 'signature', BUNDLE_FILES.envelope, e.details);
  }
}
