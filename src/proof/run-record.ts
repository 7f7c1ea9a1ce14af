import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutputEntry } from '../archive/extract.js';
import type { Variation } from '../engine/variation.js';
import type { Digest } from '../util/digest.js';
import type { BlobRef } from './blob-reader.js';
import { BUNDLE_FILES } from './manifest.js';
import { parseTranscript, type TranscriptEvent } from './transcript.js';
import { parseEvent } from './transcript-events.js';

/** A sealed run as its bundle recorded it: images, cells, steps and outputs, read with the transcript's schemas. */

export interface ImageRecord {
  /** the variant key (`<image>@<args hash>`) */
  key: string;
  name: string;
  imageId: string;
  rootfsDigest: Digest;
  /** the rootfs listing (JSON Lines) */
  listing?: BlobRef;
  /** the key its build was cached under (absent when the build event did not record one) */
  buildKey?: string;
}

export interface StepRecord {
  name: string;
  verdict: string;
  exitCode: number | null;
  stdout?: BlobRef;
  stderr?: BlobRef;
}

export interface CellRecord {
  id: string;
  env: string;
  status: string;
  /** why the cell ended in error, when it did */
  error?: string;
  steps: StepRecord[];
  /** what each declared output path held */
  outputs: { path: string; entries: OutputEntry[] }[];
}

export interface RunRecord {
  runId: string;
  startedAt: Date;
  finishedAt: Date;
  images: ImageRecord[];
  cells: CellRecord[];
  /** what the run varied (repro), as its environment event recorded */
  variation?: Variation;
  /** the user each cell's container ran as, by cell */
  users: Record<string, string>;
  /** the CPUs of the host that ran it, as its environment event recorded */
  hostCpus?: number;
}

/** A run as its transcript recorded it; `meta` gives start and end (the statement's, else the first and last events'). */
export function runRecordFromEvents(runId: string, events: readonly TranscriptEvent[], meta?: { startedOn: string; finishedOn: string }): RunRecord {
  const images: ImageRecord[] = [];
  const cells = new Map<string, CellRecord>();
  const users: Record<string, string> = {};
  let variation: Variation | undefined;
  let hostCpus: number | undefined;
  const buildKeys = new Map<string, string>();
  for (const e of events.map(parseEvent)) {
    if (e.phase === 'environment') {
      hostCpus = e.data.host.cpus;
      if (e.data.variation) variation = e.data.variation;
    }
    if (e.phase === 'build' && 'buildKey' in e.data && e.data.buildKey !== undefined) buildKeys.set(e.data.variant, e.data.buildKey);
    if (e.phase === 'image') {
      const d = e.data;
      const buildKey = buildKeys.get(d.variant);
      images.push({ key: d.variant, name: d.image, imageId: d.imageId, rootfsDigest: d.rootfsDigest, listing: d.listing, ...(buildKey !== undefined ? { buildKey } : {}) });
    }
    if (e.phase === 'container') users[e.data.env] = e.data.variation?.user ?? e.data.user;
    if (e.phase === 'cell') {
      const d = e.data;
      if (d.state === 'started') {
        cells.set(d.cell, { id: d.cell, env: d.env, status: 'started', steps: [], outputs: [] });
        continue;
      }
      // a lost attempt: the cell's next `started` event begins it again
      if (d.state === 'retried') continue;
      const cell = cells.get(d.cell) ?? { id: d.cell, env: d.cell, status: 'started', steps: [], outputs: [] };
      cell.status = d.status;
      if (d.status === 'error') cell.error = `[${d.error.code}] ${d.error.message}`;
      if ('steps' in d) cell.steps = d.steps.map((s) => ({ name: s.name, verdict: s.verdict, exitCode: s.exitCode, ...(s.stdout ? { stdout: s.stdout } : {}), ...(s.stderr ? { stderr: s.stderr } : {}) }));
      if ('outputs' in d) cell.outputs = d.outputs;
      cells.set(d.cell, cell);
    }
  }
  const first = events[0]?.time;
  const last = events.at(-1)?.time;
  return {
    runId,
    startedAt: new Date(meta?.startedOn ?? first ?? 0),
    finishedAt: new Date(meta?.finishedOn ?? last ?? 0),
    images,
    cells: [...cells.values()],
    ...(variation ? { variation } : {}),
    users,
    ...(hostCpus !== undefined ? { hostCpus } : {}),
  };
}

/** A bundle's record from the bytes of its transcript and statement (read by the caller, bounded; verified first). */
export function runRecordFromBundle(bundleDir: string, transcript: Buffer | string, statementBytes: Buffer | string): RunRecord {
  const events = parseTranscript(transcript.toString());
  const statement = JSON.parse(statementBytes.toString()) as {
    predicate?: { runDetails?: { metadata?: { invocationId?: string; startedOn?: string; finishedOn?: string } } };
  };
  const meta = statement.predicate?.runDetails?.metadata;
  const runId = meta?.invocationId ?? bundleDir;
  return runRecordFromEvents(runId, events, meta?.startedOn && meta.finishedOn ? { startedOn: meta.startedOn, finishedOn: meta.finishedOn } : undefined);
}

/** Reads a bundle this process just sealed (a foreign bundle goes through verify's bounded reader instead). */
export async function readRunRecord(bundleDir: string): Promise<RunRecord> {
  return runRecordFromBundle(bundleDir, await readFile(join(bundleDir, BUNDLE_FILES.transcript)), await readFile(join(bundleDir, BUNDLE_FILES.statement)));
}
