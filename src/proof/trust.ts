import { publicKeyPath, trustedKeyIds, writePublicKey, type PublicKey } from './keys.js';

/**
 * Trust on first use, for the commands that seal a bundle (run, smoke, matrix, repro).
 *
 * A project's trust material is its `locks/keys/*.pub.pem`: `verify` accepts a bundle only
 * when a key there signed it. A project with no key there yet has chosen nothing, so the
 * first bundle sealed in it makes the signing key trusted (its public key written where
 * `airlock keygen` writes it, and said so). Once a project trusts any key, airlock never
 * adds another by itself: a bundle signed by a key it does not trust is sealed all the
 * same and fails verification with KEY_UNTRUSTED, until someone adds that key on purpose
 * (`airlock keygen --if-missing`, or a reviewed commit).
 */
export type TrustDecision = 'trusted' | 'first-use' | 'untrusted';

/** What the project's trusted key ids say about a bundle signed by `signer`. */
export function decideTrust(signer: string, trusted: readonly string[]): TrustDecision {
  if (trusted.includes(signer)) return 'trusted';
  return trusted.length === 0 ? 'first-use' : 'untrusted';
}

export interface TrustOutcome {
  /** the signing key's id */
  keyid: string;
  /** trusted before this command; added now, on first use; or not trusted (and not added) */
  status: 'trusted' | 'added' | 'untrusted';
  /** where the project trusts (or would trust) the key: `<locksDir>/keys/<keyid>.pub.pem` */
  path: string;
}

/**
 * Applies {@link decideTrust} to the project whose `locks/` is `locksDir`: on first use writes
 * the signing key's public key there. Reads file names only; whether each trusted file holds
 * a valid key is for verification to say (TRUSTED_KEY_INVALID).
 */
export async function trustOnFirstUse(key: PublicKey, locksDir: string): Promise<TrustOutcome> {
  const decision = decideTrust(key.keyid, await trustedKeyIds(locksDir));
  const path = publicKeyPath(locksDir, key.keyid);
  switch (decision) {
    case 'trusted':
      return { keyid: key.keyid, status: 'trusted', path };
    case 'untrusted':
      return { keyid: key.keyid, status: 'untrusted', path };
    case 'first-use':
      await writePublicKey(key, locksDir);
      return { keyid: key.keyid, status: 'added', path };
  }
}
