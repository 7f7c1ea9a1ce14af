import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { AirlockError } from '../errors.js';
import { type Digest, isDigest, sha256Digest } from '../util/digest.js';
import { canonicalJson } from './canonical-json.js';
import { DigestSchema } from './digest-schema.js';
import type { EventInput, TranscriptPhase, TypedEvent } from './transcript-events.js';

/**
 * The transcript: JSON Lines, one event per line, each line the RFC 8785 form of
 * `{ seq, time, phase, data, prev }`. `prev` is the digest of the previous line's
 * bytes (UTF-8, without its "\n"), `null` for seq 0; so the digest of the last
 * line (the head) fixes every event before it.
 */

export const TranscriptEventSchema = z.strictObject({
  seq: z.int().nonnegative(),
  time: z.iso.datetime(),
  // any name here; the phase vocabulary is checked by parseEvent (transcript-events.ts)
  phase: z.string().min(1),
  data: z.record(z.string(), z.unknown()),
  prev: DigestSchema.nullable(),
});
export type TranscriptEvent = z.infer<typeof TranscriptEventSchema>;

export function lineDigest(line: string): Digest {
  return sha256Digest(Buffer.from(line, 'utf8'));
}

export interface TranscriptWriterOptions {
  /** clock for `time`; default `() => new Date()` */
  now?: () => Date;
}

/**
 * Appends events to a new transcript file. Each line goes out in synchronous
 * writes on an O_APPEND descriptor as soon as it is appended, so a crash loses at
 * most the line being written; `close()` fsyncs.
 */
export class TranscriptWriter {
  readonly path: string;
  /** open descriptor; null once closed or after a failed write (the file's end is then unknown) */
  #fd: number | null;
  /** seq of the next event == number of events written */
  #seq = 0;
  /** digest of the last line written; null before the first */
  #head: Digest | null = null;
  readonly #now: () => Date;

  private constructor(path: string, fd: number, now: () => Date) {
    this.path = path;
    this.#fd = fd;
    this.#now = now;
  }

  /** Creates `path` (which must not exist yet: a transcript always starts at seq 0). */
  static open(path: string, options: TranscriptWriterOptions = {}): TranscriptWriter {
    mkdirSync(dirname(path), { recursive: true });
    return new TranscriptWriter(path, openSync(path, 'wx', 0o644), options.now ?? (() => new Date()));
  }

  get head(): Digest | null {
    return this.#head;
  }

  get count(): number {
    return this.#seq;
  }

  /** Writes one event; its data is typed by its phase (transcript-events.ts), so a writer cannot drift from the readers. */
  append<P extends TranscriptPhase>(phase: P, data: EventInput<P>): TypedEvent<P> {
    if (this.#fd === null) throw new AirlockError('INTERNAL', `transcript ${this.path} is closed`);
    // the type says so, but a cast elsewhere must not write a line readers cannot parse
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new AirlockError('INTERNAL', 'transcript event data must be an object');
    const event = {
      seq: this.#seq,
      time: this.#now().toISOString(),
      phase,
      data: data as Record<string, unknown>,
      prev: this.#head,
    };
    const line = canonicalJson(event);
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    const fd = this.#fd;
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
    } catch (e) {
      this.#fd = null;
      closeSync(fd);
      throw e;
    }
    this.#head = lineDigest(line);
    this.#seq += 1;
    return event as unknown as TypedEvent<P>;
  }

  /** fsync and close; safe to call twice. */
  close(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

// ---------------------------------------------------------------- reading

interface ParsedLine {
  event: TranscriptEvent;
  /** the line exactly as written, without "\n" */
  line: string;
}

function malformed(lineNo: number, reason: string): AirlockError {
  return new AirlockError('TRANSCRIPT_MALFORMED', `transcript line ${lineNo}: ${reason}`, {
    details: { what: 'transcript event', where: `transcript.jsonl:${lineNo}`, line: lineNo },
  });
}

function parseLines(text: string): ParsedLine[] {
  if (text === '') return [];
  const lines = text.split('\n');
  const last = lines.pop();
  if (last !== '') throw malformed(lines.length + 1, 'not terminated by a newline (a partial write?)');
  return lines.map((line, i) => {
    const lineNo = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw malformed(lineNo, line === '' ? 'empty line' : 'not JSON');
    }
    const parsed = TranscriptEventSchema.safeParse(value);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`);
      throw malformed(lineNo, `not a transcript event (${fields.join('; ')})`);
    }
    let canonical: string | undefined;
    try {
      canonical = canonicalJson(parsed.data);
    } catch {
      canonical = undefined;
    }
    // One encoding per event, so the digest of the line is the digest of the event.
    if (canonical !== line) throw malformed(lineNo, 'not in canonical JSON (RFC 8785) form');
    return { event: parsed.data, line };
  });
}

/** Parses a transcript file's text; TRANSCRIPT_MALFORMED names the first bad line. Does not check the chain. */
export function parseTranscript(text: string): TranscriptEvent[] {
  return parseLines(text).map((l) => l.event);
}

export interface ChainResult {
  /** digest of the last line; null for an empty transcript */
  head: Digest | null;
  count: number;
  events: TranscriptEvent[];
}

/**
 * Checks that seq counts up from 0 and that every `prev` is the digest of the line
 * before. Given text, digests are taken over the lines as they are in the file.
 */
export function verifyChain(input: string | readonly TranscriptEvent[]): ChainResult {
  const lines: ParsedLine[] =
    typeof input === 'string' ? parseLines(input) : input.map((event) => ({ event, line: canonicalJson(event) }));
  let prev: Digest | null = null;
  lines.forEach(({ event, line }, i) => {
    if (event.seq !== i) throw chainBroken(i, 'seq', i, event.seq);
    if (event.prev !== prev) throw chainBroken(i, 'prev', prev, event.prev);
    prev = lineDigest(line);
  });
  return { head: prev, count: lines.length, events: lines.map((l) => l.event) };
}

function chainBroken(seq: number, field: 'seq' | 'prev', expected: unknown, actual: unknown): AirlockError {
  const message =
    field === 'seq'
      ? `transcript chain broken at seq ${seq}: line ${seq + 1} carries seq ${String(actual)}`
      : `transcript chain broken at seq ${seq}: prev is ${String(actual)}, but the previous line hashes to ${String(expected)}`;
  return new AirlockError('TRANSCRIPT_CHAIN_BROKEN', message, {
    details: { what: `transcript event seq ${seq}`, where: `transcript.jsonl:${seq + 1}`, seq, field, expected, actual },
  });
}

// ---------------------------------------------------------------- blob references

export interface BlobRef {
  digest: Digest;
  size: number;
  /** seq of the event that mentions it */
  seq: number;
}

/**
 * Every `{ digest: "sha256:…", size: n }` object anywhere in the events' data: the
 * convention by which an event points at bytes kept in the CAS. Other objects
 * must not take this shape (an OCI descriptor would read as a blob reference).
 */
export function collectBlobRefs(events: readonly TranscriptEvent[]): BlobRef[] {
  const refs: BlobRef[] = [];
  const walk = (value: unknown, seq: number): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, seq);
    } else if (value !== null && typeof value === 'object') {
      const { digest, size } = value as { digest?: unknown; size?: unknown };
      if (isDigest(digest) && typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) {
        refs.push({ digest, size, seq });
      }
      for (const item of Object.values(value)) walk(item, seq);
    }
  };
  for (const event of events) walk(event.data, event.seq);
  return refs;
}
