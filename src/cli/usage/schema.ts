import { defineCommand, ROOT_FLAG_HELP } from '../command.js';

export const SCHEMA_OPTIONS = { write: { type: 'boolean', default: false }, check: { type: 'boolean', default: false } } as const;

export const schemaCommand = defineCommand({
  name: 'schema',
  summary: 'print or write the JSON Schemas of the spec, the bundle, the transcript, the locks and --json output (generated from zod)',
  usage: `usage: airlock schema [spec|bundle|transcript|locks|output] [--write|--check] [--root DIR] [--json]

Prints the JSON Schema of airlock.yaml (spec), of bundle.json (bundle), of one
line of transcript.jsonl (transcript), of the base and kernel locks (locks) or of
the lines \`--json\` prints (output: events, then a result or an error).
--write regenerates every spec/*.schema.json; --check fails when a committed one
is stale; --json reports which files.

${ROOT_FLAG_HELP}`,
  options: SCHEMA_OPTIONS,
  allowPositionals: true,
  load: async () => (await import('../commands/schema.js')).schema,
});
