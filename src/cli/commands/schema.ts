import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../../errors.js';
import { locksJsonSchemaText } from '../../base/lock-schema.js';
import { bundleJsonSchemaText } from '../../proof/manifest.js';
import { transcriptJsonSchemaText } from '../../proof/transcript-events.js';
import { specJsonSchemaText } from '../../spec/json-schema.js';
import type { Body } from '../command.js';
import { outputJsonSchemaText } from '../output-schema.js';
import type { SCHEMA_OPTIONS } from '../usage/schema.js';

export const schema: Body<typeof SCHEMA_OPTIONS> = async (ctx) => {
  const dir = join(ctx.root, 'spec');
  const files = {
    spec: [join(dir, 'airlock.schema.json'), specJsonSchemaText()],
    bundle: [join(dir, 'bundle.schema.json'), bundleJsonSchemaText()],
    output: [join(dir, 'cli-output.schema.json'), outputJsonSchemaText()],
    locks: [join(dir, 'locks.schema.json'), locksJsonSchemaText()],
    transcript: [join(dir, 'transcript.schema.json'), transcriptJsonSchemaText()],
  } as const;
  const which = ctx.positionals[0];
  if (ctx.positionals.length > 1 || (which !== undefined && !(which in files))) throw new AirlockError('USAGE', `airlock schema takes one of ${Object.keys(files).join(', ')}`);
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
  const [path, text] = files[(which ?? 'spec') as keyof typeof files];
  if (ctx.json) ctx.result({ file: path, schema: JSON.parse(text) as unknown }, []);
  else process.stdout.write(text);
  return 0;
};
