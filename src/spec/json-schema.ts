/**
 * The JSON Schema of `airlock.yaml`, generated from the zod schema so the two cannot drift.
 * It describes the input side — what a user writes — for editors (yaml-language-server:
 * `# yaml-language-server: $schema=https://airlock.dev/schemas/airlock.schema.json`).
 * The committed copy, spec/airlock.schema.json, is kept equal by json-schema.test.ts.
 */
import { z } from 'zod';
import { specSchema } from './schema.js';

export const SPEC_SCHEMA_ID = 'https://airlock.dev/schemas/airlock.schema.json';

export function specJsonSchema(): Record<string, unknown> {
  // draft-07: the draft editors' YAML/JSON language servers support best.
  const generated = z.toJSONSchema(specSchema, { io: 'input', target: 'draft-07', unrepresentable: 'throw' });
  const { $schema, title, description, ...rest } = generated as Record<string, unknown>;
  return { $schema, $id: SPEC_SCHEMA_ID, title, description, ...rest };
}

/** The schema file's exact text: 2-space indentation and a trailing newline. */
export function specJsonSchemaText(): string {
  return `${JSON.stringify(specJsonSchema(), null, 2)}\n`;
}
