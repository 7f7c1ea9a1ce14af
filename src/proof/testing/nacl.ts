import type { SigningKey } from '../keys.js';

/** The 64-byte secret key (seed, then public key) of NaCl and tweetnacl: the tests' independent Ed25519. */
export function naclSecretKey(key: SigningKey): Uint8Array {
  return Uint8Array.from([...key.seed, ...key.publicKey]);
}
