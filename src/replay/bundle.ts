import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AirlockError, isAirlockError } from '../errors.js';
import type { PublicKey } from '../proof/keys.js';
import { BUNDLE_FILES } from '../proof/manifest.js';
import type { Statement } from '../proof/statement.js';
import { parseTranscript, type TranscriptEvent } from '../proof/transcript.js';
import { readRunRecord, rootsReader, type BlobReader, type BlobRef, type RunRecord } from '../repro/compare-runs.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { blobRoots } from '../verify/blobs.js';
import { verifyBundle, type VerifyReport } from '../verify/index.js';

/** What a run's `inputs` event recorded: every byte that can change its result, by digest. */
export interface RecordedInputs {
  spec: BlobRef & { path: string };
  dockerfiles: (BlobRef & { path: string })[];
  /** build-context tars, by the context directory they were made from */
  contexts: (BlobRef & { dir: string })[];
  goldens: (BlobRef & { path: string })[];
  bases: { ref: string; imageId: string; rootfsDigest: string | null }[];
  locks: (BlobRef & { path: string })[];
}

/** A bundle that verified, with what a replay needs from it. */
export interface OpenedBundle {
  bundleDir: string;
  runId: string;
  verification: VerifyReport;
  /** sha256 of envelope.dsse.json: what a replay's bundle names as the run it replays */
  envelopeDigest: Digest;
  statement: Statement;
  events: TranscriptEvent[];
  inputs: RecordedInputs;
  record: RunRecord;
  /** reads the bundle's blobs: its own blobs/ first, then the CAS roots */
  blobs: BlobReader;
  roots: string[];
}

/**
 * Verifies the bundle (refusing it, with verify's own code, when it does not verify)
 * and reads what it recorded. Only a verified bundle is ever read further.
 */
export async function openVerifiedBundle(bundleDir: string, trustedKeys: readonly PublicKey[], blobDirs: readonly string[]): Promise<OpenedBundle> {
  const dir = resolve(bundleDir);
  let verification: VerifyReport;
  try {
    verification = await verifyBundle({ bundleDir: dir, trustedKeys, blobDirs });
  } catch (e) {
    if (!isAirlockError(e)) throw e;
    throw new AirlockError(e.code, `refusing to replay ${bundleDir}: it does not verify: ${e.message}`, { cause: e, details: { ...e.details, bundleDir: dir } });
  }
  const events = parseTranscript(await readFile(join(dir, BUNDLE_FILES.transcript), 'utf8'));
  const statement = JSON.parse(await readFile(join(dir, BUNDLE_FILES.statement), 'utf8')) as Statement;
  const roots = await blobRoots(dir, blobDirs.map((d) => resolve(d)));
  return {
    bundleDir: dir,
    runId: verification.runId,
    verification,
    envelopeDigest: sha256Digest(await readFile(join(dir, BUNDLE_FILES.envelope))),
    statement,
    events,
    inputs: recordedInputs(events, dir),
    record: await readRunRecord(dir),
    blobs: rootsReader(roots),
    roots,
  };
}

/** The `inputs` event, checked for the fields a replay needs (older bundles lack goldens or contexts). */
export function recordedInputs(events: readonly TranscriptEvent[], where: string): RecordedInputs {
  const event = events.find((e) => e.phase === 'inputs');
  if (!event) throw new AirlockError('USAGE', `${where} records no inputs event: there is nothing to replay from`);
  const d = event.data as Record<string, unknown>;
  const problems: string[] = [];
  const list = <T>(key: string, check: (x: Record<string, unknown>) => boolean): T[] => {
    const v = d[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => x !== null && typeof x === 'object' && check(x as Record<string, unknown>))) {
      problems.push(key);
      return [];
    }
    return v as T[];
  };
  const ref = (x: Record<string, unknown>) => typeof x.digest === 'string' && typeof x.size === 'number';
  const spec = d.spec as Record<string, unknown> | undefined;
  if (!spec || !ref(spec) || typeof spec.path !== 'string') problems.push('spec');
  const inputs: RecordedInputs = {
    spec: spec as unknown as RecordedInputs['spec'],
    dockerfiles: list('dockerfiles', (x) => ref(x) && typeof x.path === 'string'),
    contexts: list('contexts', (x) => ref(x) && typeof x.dir === 'string'),
    goldens: list('goldens', (x) => ref(x) && typeof x.path === 'string'),
    bases: list('bases', (x) => typeof x.ref === 'string'),
    locks: list('locks', (x) => ref(x) && typeof x.path === 'string'),
  };
  if (problems.length > 0) throw new AirlockError('USAGE', `${where}: the inputs event has malformed ${problems.join(', ')}: cannot replay`, { details: { problems } });
  return inputs;
}
