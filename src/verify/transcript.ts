import { BUNDLE_FILES, type Manifest, ManifestSchema } from '../proof/manifest.js';
import type { Statement } from '../proof/statement.js';
import { type ChainResult, collectBlobRefs, verifyChain } from '../proof/transcript.js';
import { parseEvent, type TypedEvent } from '../proof/transcript-events.js';
import { type Digest, digestsEqual, sha256Digest } from '../util/digest.js';
import { verifyError } from './fail.js';

const TRANSCRIPT = BUNDLE_FILES.transcript;
const MANIFEST = BUNDLE_FILES.manifest;

export type VerifiedChain = ChainResult & { head: Digest };

/** The transcript parses, counts up from seq 0 and every `prev` links to the line before. */
export function checkTranscriptChain(bytes: Buffer): VerifiedChain {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw verifyError('TRANSCRIPT_MALFORMED', `${TRANSCRIPT} is not UTF-8`, 'transcript', TRANSCRIPT);
  }
  const chain = verifyChain(text);
  if (chain.head === null) throw verifyError('TRANSCRIPT_MALFORMED', `${TRANSCRIPT} is empty`, 'transcript', TRANSCRIPT);
  return { ...chain, head: chain.head };
}

/** Every event's data matches its phase's schema (TRANSCRIPT_EVENT_INVALID names the first that does not). */
export function checkTranscriptEvents(chain: VerifiedChain): TypedEvent[] {
  return chain.events.map(parseEvent);
}

/** The file's sha256 is the one the signed statement gives for the subject of the same name. */
export function checkSubject(statement: Statement, name: string, bytes: Buffer): Digest {
  const actual = sha256Digest(bytes);
  const subject = statement.subject.find((s) => s.name === name);
  if (!subject) throw verifyError('SUBJECT_MISMATCH', `the statement has no subject ${name}`, name, 'statement subject');
  const expected: Digest = `sha256:${subject.digest.sha256}`;
  if (!digestsEqual(actual, expected)) {
    const message = `${name} hashes to ${actual}, but its signed subject says ${expected}`;
    throw verifyError('SUBJECT_MISMATCH', message, name, name, { expected, actual });
  }
  return actual;
}

/**
 * bundle.json (already authenticated by its subject) is a manifest for this run and
 * this transcript, and lists every blob the transcript and the outputs refer to.
 */
export function checkManifest(
  bytes: Buffer,
  statement: Statement,
  transcript: { digest: Digest; chain: VerifiedChain },
): Manifest {
  const mismatch = (what: string, message: string, extra: Record<string, unknown> = {}) =>
    verifyError('MANIFEST_MISMATCH', message, what, MANIFEST, extra);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw mismatch('manifest', `${MANIFEST} is not JSON`);
  }
  const parsed = ManifestSchema.safeParse(value);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.') || '(manifest)'}: ${i.message}`);
    throw mismatch('manifest', `${MANIFEST} is not a bundle manifest: ${fields.join('; ')}`, { fields });
  }
  const manifest = parsed.data;

  const same = (what: string, expected: string, actual: string, says: string) => {
    if (!digestsEqual(expected, actual)) throw mismatch(what, `${MANIFEST} gives ${what} ${actual}, but ${says} ${expected}`, { expected, actual });
  };
  same('runId', statement.predicate.runDetails.metadata.invocationId, manifest.runId, 'the statement gives');
  same('transcript.digest', transcript.digest, manifest.transcript.digest, `${TRANSCRIPT} hashes to`);
  same('transcript.head', transcript.chain.head, manifest.transcript.head, `the chain ends at`);

  const sizes = new Map(manifest.blobs.map((b) => [b.digest, b.size]));
  for (const ref of collectBlobRefs(transcript.chain.events)) {
    const size = sizes.get(ref.digest);
    const event = `transcript event seq ${ref.seq}`;
    if (size === undefined) {
      throw mismatch(ref.digest, `${event} refers to blob ${ref.digest}, which ${MANIFEST} does not list`, { seq: ref.seq });
    }
    if (size !== ref.size) {
      const message = `${event} gives blob ${ref.digest} ${ref.size} bytes, ${MANIFEST} ${size}`;
      throw mismatch(ref.digest, message, { seq: ref.seq, expected: ref.size, actual: size });
    }
  }
  for (const subject of outputSubjects(statement)) {
    if (!sizes.has(subject.digest)) {
      const message = `output ${subject.name} (${subject.digest}) is not listed in ${MANIFEST}`;
      throw mismatch(subject.digest, message, { name: subject.name });
    }
  }
  return manifest;
}

/** Subjects other than the bundle's own files: the run's outputs. */
export function outputSubjects(statement: Statement): { name: string; digest: Digest }[] {
  const own = new Set<string>([TRANSCRIPT, MANIFEST]);
  return statement.subject
    .filter((s) => !own.has(s.name))
    .map((s) => ({ name: s.name, digest: `sha256:${s.digest.sha256}` as const }));
}
