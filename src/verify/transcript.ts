import { AirlockError } from '../errors.js';
import { BUNDLE_FILES, type Manifest, ManifestSchema } from '../proof/manifest.js';
import type { Statement } from '../proof/statement.js';
import { type ChainResult, collectBlobRefs, verifyChain } from '../proof/transcript.js';
import { type Digest, digestsEqual, sha256Digest } from '../util/digest.js';
import { verifyError } from './fail.js';

/** The transcript parses, counts up from seq 0 and every `prev` links to the line before. */
export function checkTranscriptChain(bytes: Buffer): ChainResult & { head: Digest } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw verifyError('TRANSCRIPT_MALFORMED', `${BUNDLE_FILES.transcript} is not UTF-8`, 'transcript', BUNDLE_FILES.transcript);
  }
  const chain = verifyChain(text);
  if (chain.head === null) {
    throw verifyError('TRANSCRIPT_MALFORMED', `${BUNDLE_FILES.transcript} is empty`, 'transcript', BUNDLE_FILES.transcript);
  }
  return { ...chain, head: chain.head };
}

/** The file's sha256 is the one the signed statement gives for the subject of the same name. */
export function checkSubject(statement: Statement, name: string, bytes: Buffer): Digest {
  const actual = sha256Digest(bytes);
  const subject = statement.subject.find((s) => s.name === name);
  if (!subject) {
    throw verifyError('SUBJECT_MISMATCH', `the statement has no subject ${name}`, name, 'statement subject', { actual });
  }
  const expected: Digest = `sha256:${subject.digest.sha256}`;
  if (!digestsEqual(actual, expected)) {
    throw verifyError('SUBJECT_MISMATCH', `${name} hashes to ${actual}, but its signed subject says ${expected}`, name, name, {
      expected,
      actual,
    });
  }
  return actual;
}

const WHERE = BUNDLE_FILES.manifest;

/**
 * bundle.json (already authenticated by its subject) is a manifest for this run and
 * this transcript, and lists every blob the transcript and the outputs refer to.
 */
export function checkManifest(
  bytes: Buffer,
  statement: Statement,
  transcript: { digest: Digest; chain: ChainResult & { head: Digest } },
): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw verifyError('MANIFEST_MISMATCH', `${WHERE} is not JSON`, 'manifest', WHERE);
  }
  const parsed = ManifestSchema.safeParse(value);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.') || '(manifest)'}: ${i.message}`);
    throw verifyError('MANIFEST_MISMATCH', `${WHERE} is not a bundle manifest: ${fields.join('; ')}`, 'manifest', WHERE, { fields });
  }
  const manifest = parsed.data;
  const mismatch = (what: string, message: string, extra: Record<string, unknown> = {}): AirlockError =>
    verifyError('MANIFEST_MISMATCH', message, what, WHERE, extra);

  const runId = statement.predicate.runDetails.metadata.invocationId;
  if (manifest.runId !== runId) {
    throw mismatch('runId', `${WHERE} is for run ${manifest.runId}, the statement for ${runId}`, { expected: runId, actual: manifest.runId });
  }
  if (!digestsEqual(manifest.transcript.digest, transcript.digest)) {
    throw mismatch('transcript.digest', `${WHERE} gives the transcript digest ${manifest.transcript.digest}, the file hashes to ${transcript.digest}`, {
      expected: transcript.digest,
      actual: manifest.transcript.digest,
    });
  }
  if (!digestsEqual(manifest.transcript.head, transcript.chain.head)) {
    throw mismatch('transcript.head', `${WHERE} gives the chain head ${manifest.transcript.head}, the transcript ends at ${transcript.chain.head}`, {
      expected: transcript.chain.head,
      actual: manifest.transcript.head,
    });
  }

  const sizes = new Map(manifest.blobs.map((b) => [b.digest, b.size]));
  for (const ref of collectBlobRefs(transcript.chain.events)) {
    const size = sizes.get(ref.digest);
    if (size === undefined) {
      throw mismatch(ref.digest, `transcript event seq ${ref.seq} refers to blob ${ref.digest}, which ${WHERE} does not list`, { seq: ref.seq });
    }
    if (size !== ref.size) {
      throw mismatch(ref.digest, `transcript event seq ${ref.seq} gives blob ${ref.digest} ${ref.size} bytes, ${WHERE} ${size}`, {
        seq: ref.seq,
        expected: ref.size,
        actual: size,
      });
    }
  }
  for (const subject of outputSubjects(statement)) {
    if (!sizes.has(subject.digest)) {
      throw mismatch(subject.digest, `output ${subject.name} (${subject.digest}) is not listed in ${WHERE}`, { name: subject.name });
    }
  }
  return manifest;
}

/** Subjects other than the bundle's own files: the run's outputs. */
export function outputSubjects(statement: Statement): { name: string; digest: Digest }[] {
  const own = new Set<string>([BUNDLE_FILES.transcript, BUNDLE_FILES.manifest]);
  return statement.subject
    .filter((s) => !own.has(s.name))
    .map((s) => ({ name: s.name, digest: `sha256:${s.digest.sha256}` as Digest }));
}
