import { resolve } from 'node:path';
import type { PublicKey } from '../proof/keys.js';
import { BUNDLE_FILES } from '../proof/manifest.js';
import { blobRoots, checkBlobs } from './blobs.js';
import { type EnvelopeFile, parseEnvelope, readBundleFiles } from './files.js';
import { checkPolicy } from './policy.js';
import { checkSignature } from './signature.js';
import { checkStatement } from './statement.js';
import { checkManifest, checkSubject, checkTranscriptChain, checkTranscriptEvents } from './transcript.js';
import { type Check, Verifier } from './verifier.js';

export type { Check } from './verifier.js';
export type { EnvelopeFile } from './files.js';
export { blobPath } from '../store/layout.js';

export interface VerifyOptions {
  /** the bundle: proofs/<run-id>/ */
  bundleDir: string;
  /** keys a bundle may be signed by (loadTrustedKeys(locksDir)) */
  trustedKeys: readonly PublicKey[];
  /** CAS roots, each holding blobs/sha256/<hex>; the bundle's own dir is tried first when it has blobs/ */
  blobDirs: readonly string[];
  /** verify the envelope in this file (default: envelope.dsse.json, else envelope.sigstore.json) */
  envelopeFile?: EnvelopeFile;
}

export interface VerifyReport {
  ok: true;
  runId: string;
  /** the trusted key whose signature verified */
  keyid: string;
  /** number of statement subjects (transcript, manifest and outputs) */
  subjects: number;
  /** number of distinct blobs re-hashed */
  blobs: number;
  checks: Check[];
}

/**
 * Verifies a proof bundle offline (no network, no engine). Steps run in a fixed
 * order and the first failure throws an AirlockError whose code names the reason
 * and whose details say what was checked where (and which check it was).
 */
export async function verifyBundle(options: VerifyOptions): Promise<VerifyReport> {
  const bundleDir = resolve(options.bundleDir);
  const v = new Verifier();

  // 1. what is there, and the envelope's shape
  const files = await v.check('files', () => readBundleFiles(bundleDir, options.envelopeFile));
  const envelope = await v.check('envelope', () => parseEnvelope(files.envelope, files.envelopeFile));
  // 2. who signed it: from here on the payload is authenticated
  const signed = await v.check('signature', () => checkSignature(envelope, options.trustedKeys));
  // 3. what it says
  const statement = await v.check('statement', () => checkStatement(signed, files.statement));
  // 4. the transcript and the manifest are the ones signed for
  const chain = await v.check('transcript-chain', () => checkTranscriptChain(files.transcript));
  const transcriptDigest = await v.check('transcript-subject', () =>
    checkSubject(statement, BUNDLE_FILES.transcript, files.transcript),
  );
  await v.check('manifest-subject', () => checkSubject(statement, BUNDLE_FILES.manifest, files.manifest));
  const manifest = await v.check('manifest', () =>
    checkManifest(files.manifest, statement, { digest: transcriptDigest, chain }),
  );
  // every event holds what its phase says it holds
  const events = await v.check('transcript-events', () => checkTranscriptEvents(chain));
  // 5. the bytes themselves
  const roots = await blobRoots(bundleDir, options.blobDirs.map((d) => resolve(d)));
  const blobs = await v.check('blobs', () => checkBlobs(manifest, roots));
  // 6. the cells ran hardened, as the engine reported
  await v.check('policy', () => checkPolicy(events, statement));

  return {
    ok: true,
    runId: manifest.runId,
    keyid: signed.keyid,
    subjects: statement.subject.length,
    blobs,
    checks: v.checks,
  };
}
