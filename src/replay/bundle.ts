import { resolve } from 'node:path';
import { AirlockError, isAirlockError } from '../errors.js';
import type { PublicKey } from '../proof/keys.js';
import type { Statement } from '../proof/statement.js';
import { parseTranscript, type TranscriptEvent } from '../proof/transcript.js';
import { type EventData, eventsOf } from '../proof/transcript-events.js';
import { rootsReader, type BlobReader } from '../proof/blob-reader.js';
import { runRecordFromBundle, type RunRecord } from '../proof/run-record.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { blobRoots } from '../verify/blobs.js';
import { readBundleFiles } from '../verify/files.js';
import { verifyBundle, type VerifyReport } from '../verify/index.js';

/** What a run's `inputs` event recorded: every byte that can change its result, by digest. */
export type RecordedInputs = Omit<EventData<'inputs'>, 'replayOf'>;

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
  // read again as verify reads (regular files, bounded): what replay uses is what verified
  const files = await readBundleFiles(dir);
  const events = parseTranscript(files.transcript.toString('utf8'));
  const statement = JSON.parse(files.statement.toString('utf8')) as Statement;
  const roots = await blobRoots(dir, blobDirs.map((d) => resolve(d)));
  return {
    bundleDir: dir,
    runId: verification.runId,
    verification,
    envelopeDigest: sha256Digest(files.envelope),
    statement,
    events,
    inputs: recordedInputs(events, dir),
    record: runRecordFromBundle(dir, files.transcript, files.statement),
    blobs: rootsReader(roots),
    roots,
  };
}

/** The `inputs` event, parsed by its schema (TRANSCRIPT_EVENT_INVALID names what is malformed). */
export function recordedInputs(events: readonly TranscriptEvent[], where: string): RecordedInputs {
  const event = eventsOf(events, 'inputs')[0];
  if (!event) throw new AirlockError('USAGE', `${where} records no inputs event: there is nothing to replay from`);
  const { replayOf: _replayOf, ...inputs } = event.data;
  return inputs;
}
