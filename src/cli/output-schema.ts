/**
 * The `--json` output as zod schemas, and the JSON Schema generated from them
 * (spec/cli-output.schema.json), so scripts and the tests validate against one
 * description. Only `airlock schema` and tests load this (zod is slow to import;
 * output.ts writes the lines without it).
 */
import { z } from 'zod';
import { OUTPUT_SCHEMA_VERSION } from './output.js';

export const OUTPUT_SCHEMA_ID = 'https://airlock.dev/schemas/cli-output.schema.json';

const envelope = {
  schemaVersion: z.literal(OUTPUT_SCHEMA_VERSION).describe('version of this envelope; bumped only when a field changes meaning or goes away'),
  command: z.string().nullable().describe('the command that ran; null when no command was recognised'),
  ok: z.boolean().describe('exitCode is 0'),
  exitCode: z.int().min(0).max(255).describe('the process exit code (README, "Exit codes")'),
  time: z.iso.datetime().describe('when the line was written'),
};

const errorCode = z.string().regex(/^[A-Z][A-Z0-9_]*$/);

export const ResultLineSchema = z
  .looseObject({
    type: z.literal('result'),
    ...envelope,
    code: errorCode.optional().describe('why, when a command completed without succeeding (e.g. NOT_REPRODUCIBLE)'),
  })
  .meta({ title: 'result', description: "a command's last line when it completed: the envelope, then the command's own fields" });

export const ErrorLineSchema = z
  .strictObject({
    type: z.literal('error'),
    ...envelope,
    ok: z.literal(false),
    code: errorCode.describe('the error code (src/errors.ts); its exit code is exitCode'),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).describe('structured facts: paths, digests, expected vs actual'),
  })
  .meta({ title: 'error', description: "a command's last line when it failed" });

export const EventLineSchema = z
  .looseObject({
    type: z.string().regex(/^(?!(result|error)$)[a-z][a-z0-9-]*$/).describe('what happened: build-step, cell-finished, verified, …'),
    time: z.iso.datetime(),
  })
  .meta({ title: 'event', description: 'progress while a command runs, one per line, before its result or error' });

/** Any line `--json` prints. */
export const OutputLineSchema = z.union([ResultLineSchema, ErrorLineSchema, EventLineSchema]);

export function outputJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(OutputLineSchema, { target: 'draft-07', unrepresentable: 'throw' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: OUTPUT_SCHEMA_ID,
    title: 'airlock --json output line',
    description: 'Every line airlock prints on stdout with --json: events as they happen, then exactly one result or error (the last line).',
    ...rest,
  };
}

/** {@link outputJsonSchema} as the exact text of spec/cli-output.schema.json. */
export function outputJsonSchemaText(): string {
  return `${JSON.stringify(outputJsonSchema(), null, 2)}\n`;
}
