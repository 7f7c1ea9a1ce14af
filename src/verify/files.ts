import { lstat, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isAirlockError } from '../errors.js';
import { type Envelope, EnvelopeSchema } from '../proof/dsse.js';
import { BUNDLE_FILES } from '../proof/manifest.js';
import { envelopeFromSigstoreBundle } from '../proof/sigstore-bundle.js';
import { readBounded, type FileProblem } from '../util/bounded-read.js';
import { verifyError } from './fail.js';

/** The bytes of the files verification reads; summary.txt is for people and is not checked. */
export interface BundleFiles {
  envelope: Buffer;
  /** which file the envelope was read from: envelope.dsse.json or the Sigstore bundle */
  envelopeFile: EnvelopeFile;
  statement: Buffer;
  manifest: Buffer;
  transcript: Buffer;
}

const REQUIRED = ['envelope', 'statement', 'manifest', 'transcript'] as const;

/** The two wrappings of the same signed envelope a bundle may carry. */
export type EnvelopeFile = typeof BUNDLE_FILES.envelope | typeof BUNDLE_FILES.sigstore;

const MiB = 1024 ** 2;
/**
 * The most verify reads of each file. Far above what real runs write (12,000 outputs make a
 * 7.5 MB statement), far below what would exhaust memory: a bundle is refused, not read forever.
 */
export const BUNDLE_FILE_LIMITS: Record<(typeof REQUIRED)[number], number> = {
  envelope: 192 * MiB,
  statement: 128 * MiB,
  manifest: 128 * MiB,
  transcript: 512 * MiB,
};

/**
 * Reads what verification needs. The envelope comes from `envelopeFile` when given, else from
 * envelope.dsse.json, else from envelope.sigstore.json: a bundle passed along with only its
 * Sigstore file verifies the same.
 */
export async function readBundleFiles(bundleDir: string, envelopeFile?: EnvelopeFile): Promise<BundleFiles> {
  const isDir = await stat(bundleDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw verifyError('BUNDLE_MISSING_FILE', `no bundle directory at ${bundleDir}`, 'bundle', bundleDir);
  const chosen =
    envelopeFile ??
    ((await isPresent(join(bundleDir, BUNDLE_FILES.envelope))) || !(await isPresent(join(bundleDir, BUNDLE_FILES.sigstore)))
      ? BUNDLE_FILES.envelope
      : BUNDLE_FILES.sigstore);
  const files: Partial<BundleFiles> = { envelopeFile: chosen };
  const missing: string[] = [];
  // One at a time, so the first unsafe file is the one reported.
  for (const key of REQUIRED) {
    const name = key === 'envelope' ? chosen : BUNDLE_FILES[key];
    const fail = (p: FileProblem) =>
      p.kind === 'missing'
        ? verifyError('BUNDLE_MISSING_FILE', `the bundle lacks ${name}`, name, bundleDir)
        : verifyError('BUNDLE_FILE_UNSAFE', `${name}: ${p.message}`, name, bundleDir, { kind: p.kind });
    try {
      files[key] = await readBounded(join(bundleDir, name), BUNDLE_FILE_LIMITS[key], fail);
    } catch (e) {
      if (!isAirlockError(e, 'BUNDLE_MISSING_FILE')) throw e;
      missing.push(name);
    }
  }
  if (missing.length > 0) {
    const list = missing.join(', ');
    throw verifyError('BUNDLE_MISSING_FILE', `the bundle lacks ${list}`, list, bundleDir, { missing });
  }
  return files as BundleFiles;
}

async function isPresent(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** Parses envelope.dsse.json (or the DSSE envelope inside a Sigstore bundle), naming every bad field. */
export function parseEnvelope(bytes: Buffer, where: EnvelopeFile = BUNDLE_FILES.envelope): Envelope {
  if (where === BUNDLE_FILES.sigstore) return envelopeFromSigstoreBundle(bytes, where);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw verifyError('ENVELOPE_MALFORMED', `${where} is not JSON`, 'envelope', where);
  }
  const parsed = EnvelopeSchema.safeParse(value);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.') || '(envelope)'}: ${i.message}`);
    throw verifyError('ENVELOPE_MALFORMED', `${where} is not a DSSE envelope: ${fields.join('; ')}`, 'envelope', where, {
      fields,
    });
  }
  return parsed.data;
}
