import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AirlockError } from '../errors.js';
import { type Digest, sha256Digest } from '../util/digest.js';
import { writeFileAtomic } from './atomic-write.js';
import { canonicalBytes } from './canonical-json.js';
import { type Envelope, signEnvelope } from './dsse.js';
import type { SigningKey } from './keys.js';
import { toSigstoreBundle } from './sigstore-bundle.js';
import { BUNDLE_FILES, BUNDLE_VERSION, type Manifest, type ManifestBlob, ManifestBlobSchema } from './manifest.js';
import { buildPredicate, buildStatement, PAYLOAD_TYPE, type PredicateFacts, type Statement } from './statement.js';
import { collectBlobRefs, verifyChain } from './transcript.js';

export interface SealOptions {
  bundleDir: string;
  runId: string;
  /** must be `<bundleDir>/transcript.jsonl`, complete and closed */
  transcriptPath: string;
  /** every CAS blob the run refers to, outputs included */
  blobs: ManifestBlob[];
  /** the run's outputs; each becomes a subject and must be among `blobs` */
  outputs: { name: string; digest: Digest }[];
  facts: PredicateFacts;
  startedOn: Date | string;
  finishedOn: Date | string;
  key: SigningKey;
  /** lines of summary.txt (for people; not signed) */
  summary: string[];
}

export interface SealResult {
  bundleDir: string;
  keyid: string;
  manifest: Manifest;
  manifestDigest: Digest;
  transcriptDigest: Digest;
  statement: Statement;
  envelope: Envelope;
  /** absolute paths of the bundle's files */
  files: Record<keyof typeof BUNDLE_FILES, string>;
}

/**
 * Seals a finished run: writes bundle.json, statement.json, summary.txt, the envelope as a
 * Sigstore bundle (envelope.sigstore.json) and last envelope.dsse.json into `bundleDir`, each atomically. Refuses to sign what
 * verify would reject (a broken chain, a blob reference the manifest lacks).
 */
export async function sealBundle(opts: SealOptions): Promise<SealResult> {
  const bundleDir = resolve(opts.bundleDir);
  const files = Object.fromEntries(
    Object.entries(BUNDLE_FILES).map(([k, name]) => [k, join(bundleDir, name)]),
  ) as SealResult['files'];
  if (resolve(opts.transcriptPath) !== files.transcript) {
    throw new AirlockError('INTERNAL', `the transcript must be ${files.transcript}, not ${opts.transcriptPath}`);
  }

  const transcriptBytes = await readFile(files.transcript);
  const chain = verifyChain(transcriptBytes.toString('utf8'));
  if (chain.head === null) {
    throw new AirlockError('TRANSCRIPT_MALFORMED', 'refusing to seal an empty transcript', {
      details: { what: 'transcript', where: BUNDLE_FILES.transcript },
    });
  }
  const transcriptDigest = sha256Digest(transcriptBytes);

  const blobs = normalizeBlobs(opts.blobs);
  const listed = new Map(blobs.map((b) => [b.digest, b]));
  for (const ref of collectBlobRefs(chain.events)) {
    const blob = listed.get(ref.digest);
    if (!blob || blob.size !== ref.size) {
      const listing = blob ? `gives ${blob.size} bytes` : 'lacks';
      throw new AirlockError(
        'MANIFEST_MISMATCH',
        `transcript event seq ${ref.seq} refers to ${ref.digest} (${ref.size} bytes), which the blob list ${listing}`,
        { details: { what: ref.digest, where: `${BUNDLE_FILES.transcript} seq ${ref.seq}` } },
      );
    }
  }
  const names = new Set<string>([BUNDLE_FILES.transcript, BUNDLE_FILES.manifest]);
  for (const output of opts.outputs) {
    if (names.has(output.name)) throw new AirlockError('INTERNAL', `two subjects named ${output.name}`);
    names.add(output.name);
    if (!listed.has(output.digest)) {
      throw new AirlockError(
        'MANIFEST_MISMATCH',
        `output ${output.name} (${output.digest}) is not among the bundle's blobs`,
        { details: { what: output.digest, where: output.name } },
      );
    }
  }

  const manifest: Manifest = {
    bundleVersion: BUNDLE_VERSION,
    runId: opts.runId,
    transcript: { path: BUNDLE_FILES.transcript, digest: transcriptDigest, head: chain.head },
    blobs,
  };
  const manifestBytes = canonicalBytes(manifest);
  const manifestDigest = sha256Digest(manifestBytes);

  const predicate = buildPredicate(opts.facts, {
    invocationId: opts.runId,
    startedOn: opts.startedOn,
    finishedOn: opts.finishedOn,
  });
  const statement = buildStatement(
    [
      { name: BUNDLE_FILES.transcript, digest: transcriptDigest },
      { name: BUNDLE_FILES.manifest, digest: manifestDigest },
      ...opts.outputs,
    ],
    predicate,
  );
  // statement.json holds the very bytes that are signed, so it can be read without base64.
  const payload = canonicalBytes(statement);
  const envelope = signEnvelope(PAYLOAD_TYPE, payload, opts.key);

  await writeFileAtomic(files.manifest, manifestBytes);
  await writeFileAtomic(files.statement, payload);
  await writeFileAtomic(files.summary, opts.summary.map((l) => `${oneLine(l)}\n`).join(''));
  await writeFileAtomic(files.sigstore, `${JSON.stringify(toSigstoreBundle(envelope, opts.key.keyid), null, 2)}\n`);
  // Last: an envelope on disk means the bundle is complete.
  await writeFileAtomic(files.envelope, `${JSON.stringify(envelope, null, 2)}\n`);

  return { bundleDir, keyid: opts.key.keyid, manifest, manifestDigest, transcriptDigest, statement, envelope, files };
}

/** Validates, drops exact duplicates and sorts, so bundle.json does not depend on the order blobs were met. */
function normalizeBlobs(input: readonly ManifestBlob[]): ManifestBlob[] {
  const byKey = new Map<string, ManifestBlob>();
  input.forEach((raw, i) => {
    const parsed = ManifestBlobSchema.safeParse(raw);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
      throw new AirlockError('INTERNAL', `blob ${i} is not a manifest blob (${fields})`);
    }
    const blob = parsed.data;
    byKey.set(`${blob.role}\0${blob.name}\0${blob.digest}`, blob);
  });
  const blobs = [...byKey.values()];
  const sizes = new Map<string, number>();
  for (const b of blobs) {
    if ((sizes.get(b.digest) ?? b.size) !== b.size) {
      throw new AirlockError('INTERNAL', `blob ${b.digest} is listed with two sizes`);
    }
    sizes.set(b.digest, b.size);
  }
  return blobs.sort((a, b) => cmp(a.role, b.role) || cmp(a.name, b.name) || cmp(a.digest, b.digest));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A summary line stays one line: control characters (a newline in an output's file name,
 * say) are written as escapes, so a name cannot forge lines of its own.
 */
function oneLine(line: string): string {
  return line.replace(/[\u0000-\u001f\u007f\\]/g, (c) => {
    if (c === '\\') return '\\\\';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
