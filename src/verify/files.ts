import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Envelope, EnvelopeSchema } from '../proof/dsse.js';
import { BUNDLE_FILES } from '../proof/manifest.js';
import { verifyError } from './fail.js';

/** The bytes of the files verification reads; summary.txt is for people and is not checked. */
export interface BundleFiles {
  envelope: Buffer;
  statement: Buffer;
  manifest: Buffer;
  transcript: Buffer;
}

const REQUIRED = ['envelope', 'statement', 'manifest', 'transcript'] as const;

export async function readBundleFiles(bundleDir: string): Promise<BundleFiles> {
  const isDir = await stat(bundleDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw verifyError('BUNDLE_MISSING_FILE', `no bundle directory at ${bundleDir}`, 'bundle', bundleDir);
  const read = async (key: (typeof REQUIRED)[number]) =>
    [key, await readFile(join(bundleDir, BUNDLE_FILES[key])).catch(() => undefined)] as const;
  const entries = await Promise.all(REQUIRED.map(read));
  const missing = entries.filter(([, bytes]) => bytes === undefined).map(([key]) => BUNDLE_FILES[key]);
  if (missing.length > 0) {
    const list = missing.join(', ');
    throw verifyError('BUNDLE_MISSING_FILE', `the bundle lacks ${list}`, list, bundleDir, { missing });
  }
  return Object.fromEntries(entries) as unknown as BundleFiles;
}

/** Parses envelope.dsse.json, naming every bad field. */
export function parseEnvelope(bytes: Buffer): Envelope {
  const where = BUNDLE_FILES.envelope;
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
