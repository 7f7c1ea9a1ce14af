import { z } from 'zod';
import { AirlockError } from '../errors.js';
import { DigestSchema } from './digest-schema.js';
import {
  CellEventSchema,
  ContainerEventSchema,
  NetworkEventSchema,
  OutputEventSchema,
  ServiceEventSchema,
  StepEventSchema,
  TeardownEventSchema,
  VmEventSchema,
} from './transcript-events-cell.js';
import {
  BuildEventSchema,
  EnvironmentEventSchema,
  FetchEventSchema,
  ImageEventSchema,
  InputsEventSchema,
  ShipEventSchema,
  ReproEventSchema,
  RunEventSchema,
} from './transcript-events-run.js';
import type { TranscriptEvent } from './transcript.js';

/**
 * The transcript's vocabulary: one schema per phase, in the order a run writes them.
 * The writer is typed by it, every reader parses with it, and verify refuses an
 * event whose data does not match its phase (TRANSCRIPT_EVENT_INVALID).
 */
export const EVENT_SCHEMAS = {
  environment: EnvironmentEventSchema,
  fetch: FetchEventSchema,
  inputs: InputsEventSchema,
  build: BuildEventSchema,
  image: ImageEventSchema,
  cell: CellEventSchema,
  ship: ShipEventSchema,
  network: NetworkEventSchema,
  service: ServiceEventSchema,
  container: ContainerEventSchema,
  vm: VmEventSchema,
  step: StepEventSchema,
  output: OutputEventSchema,
  teardown: TeardownEventSchema,
  run: RunEventSchema,
  repro: ReproEventSchema,
} as const;

export type TranscriptPhase = keyof typeof EVENT_SCHEMAS;
export const TRANSCRIPT_PHASES = Object.keys(EVENT_SCHEMAS) as TranscriptPhase[];

/** What a writer hands `append` for a phase. */
export type EventInput<P extends TranscriptPhase> = z.input<(typeof EVENT_SCHEMAS)[P]>;
/** What a reader gets for a phase: only the fields the vocabulary names. */
export type EventData<P extends TranscriptPhase> = z.output<(typeof EVENT_SCHEMAS)[P]>;

export type TypedEvent<P extends TranscriptPhase = TranscriptPhase> = {
  [Q in P]: Omit<TranscriptEvent, 'phase' | 'data'> & { phase: Q; data: EventData<Q> };
}[P];

export function isTranscriptPhase(phase: string): phase is TranscriptPhase {
  return Object.hasOwn(EVENT_SCHEMAS, phase);
}

/** The event with its data parsed by its phase's schema; TRANSCRIPT_EVENT_INVALID names every bad field. */
export function parseEvent(event: TranscriptEvent): TypedEvent {
  const where = `transcript.jsonl:${event.seq + 1}`;
  const invalid = (message: string, fields: string[]) =>
    new AirlockError('TRANSCRIPT_EVENT_INVALID', `transcript event seq ${event.seq} (${event.phase}): ${message}`, {
      details: { what: `${event.phase} event`, where, seq: event.seq, phase: event.phase, fields },
    });
  if (!isTranscriptPhase(event.phase)) throw invalid(`unknown phase (known: ${TRANSCRIPT_PHASES.join(', ')})`, ['phase']);
  const parsed = EVENT_SCHEMAS[event.phase].safeParse(event.data);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `data.${i.path.join('.')}: ${i.message}`.replace(/\.: /, ': '));
    throw invalid(`data does not match the ${event.phase} schema: ${fields.join('; ')}`, fields);
  }
  return { ...event, data: parsed.data } as TypedEvent;
}

/** Every event of one phase, parsed. */
export function eventsOf<P extends TranscriptPhase>(events: readonly TranscriptEvent[], phase: P): TypedEvent<P>[] {
  return events.filter((e) => e.phase === phase).map((e) => parseEvent(e) as TypedEvent<P>);
}

/** JSON Schema of one transcript line: the envelope, and `data` by `phase` (readers ignore unknown fields). */
export function transcriptJsonSchema(): Record<string, unknown> {
  const lines = TRANSCRIPT_PHASES.map((phase) =>
    z.strictObject({
      seq: z.int().nonnegative(),
      time: z.iso.datetime(),
      phase: z.literal(phase),
      data: EVENT_SCHEMAS[phase],
      prev: DigestSchema.nullable(),
    }),
  );
  const { $schema: _drop, ...line } = z.toJSONSchema(z.union(lines), { target: 'draft-2020-12', io: 'input' });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://airlock.dev/schemas/transcript.schema.json',
    title: 'airlock transcript line',
    description:
      'One line of transcript.jsonl (RFC 8785 canonical JSON): seq, time, phase, data and the digest of the previous line. ' +
      '`data` is described per phase; readers ignore fields a phase does not name. See docs/formats.md.',
    ...line,
  };
}

export function transcriptJsonSchemaText(): string {
  return `${JSON.stringify(transcriptJsonSchema(), null, 2)}\n`;
}
