import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../../errors.js';
import { bundleJsonSchemaText } from '../../proof/manifest.js';
import { specJsonSchemaText } from '../../spec/json-schema.js';
import { workspaceRoot } from '../../run/workspace.js';
import { defineCommand } from '../command.js';

export const schemaCommand = defineCommand({
  name: 'schema',
  summary: 'print or write the JSON Schemas of the spec and the bundle (generated from the zod schemas)',
  usage: `usage: airlock schema [spec|bundle] [--write|--check] [--root DIR] [--json]

Prints the JSON Schema of airlock.yaml (spec) or of bundle.json (bundle).
--write regenerates spec/airlock.schema.json and spec/bundle.schema.json;
--check fails when the committed files are stale; --json reports which files.`,
  options: { write: { type: 'boolean', default: false }, check: { type: 'boolean', default: false }, root: { type: 'string' } },
  allowPositionals: true,
  async body(ctx) {
    const root = workspaceRoot(ctx.values.root as string | undefined);
    const files = { spec: [join(root, 'spec', 'airlock.schema.json'), specJsonSchemaText()], bundle: [join(root, 'spec', 'bundle.schema.json'), bundleJsonSchemaText()] } as const;
    const which = ctx.positionals[0];
    if (which !== undefined && !(which in files)) throw new AirlockError('USAGE', 'airlock schema takes "spec" or "bundle"');
    if (ctx.values.write || ctx.values.check) {
      const stale: string[] = [];
      for (const [path, text] of Object.values(files)) {
        if (ctx.values.write) await writeFile(path, text);
        else if ((await readFile(path, 'utf8').catch(() => '')) !== text) stale.push(path);
      }
      if (stale.length > 0) throw new AirlockError('USAGE', `stale JSON Schema: ${stale.join(', ')}; run \`airlock schema --write\``);
      ctx.result({ files: Object.values(files).map(([p]) => p) }, Object.values(files).map(([p]) => `${ctx.values.write ? 'wrote' : 'up to date'} ${p}`));
      return 0;
    }
    process.stdout.write(files[(which ?? 'spec') as keyof typeof files][1]);
    return 0;
  },
});
