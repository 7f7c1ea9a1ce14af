import { defineCommand, ROOT_FLAG_HELP } from '../command.js';

export const SCHEMA_OPTIONS = { write: { type: 'boolean', default: false }, check: { type: 'boolean', default: false } } as const;

export const schemaCommand = defineCommand({
  name: 'schema',
  summary: 'print or write the JSON Schemas of the spec, the bundle and --json output (generated from zod)',
  usage: `usage: airlock schema [spec|bundle|output] [--write|--check] [--root DIR] [--json]

Prints the JSON Schema of airlock.yaml (spec), of bundle.json (bundle) or of the
lines \`--json\` prints (output: events, then a result or an error).
--write regenerates spec/airlock.schema.json, spec/bundle.schema.json and
spec/cli-output.schema.json; --check fails when the committed files are stale;
--json reports which files.

${ROOT_FLAG_HELP}`,
  options: SCHEMA_OPTIONS,
  allowPositionals: true,
  load: async () => (await import('../commands/schema.js')).schema,
});
