import { readFile } from 'node:fs/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { locksJsonSchema, locksJsonSchemaText } from './lock-schema.js';

const REPO = new URL('../../', import.meta.url);

describe('spec/locks.schema.json', () => {
  it('is committed as generated from the zod schemas (regenerate with `airlock schema --write`)', async () => {
    await expect(locksJsonSchemaText()).toMatchFileSnapshot('../../spec/locks.schema.json');
  });

  it('accepts the committed locks and refuses a package without its sha256', async () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(locksJsonSchema());
    const bases = JSON.parse(await readFile(new URL('locks/base-images.lock.json', REPO), 'utf8'));
    const kernel = JSON.parse(await readFile(new URL('locks/vm-kernel.lock.json', REPO), 'utf8'));
    expect(validate(bases), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(kernel), JSON.stringify(validate.errors)).toBe(true);
    const first = Object.values(bases.bases as Record<string, { packages: { sha256?: string }[] }>)[0]!;
    delete first.packages[0]!.sha256;
    expect(validate(bases)).toBe(false);
  });
});
