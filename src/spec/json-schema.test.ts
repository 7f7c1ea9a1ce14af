import { describe, expect, it } from 'vitest';
import { SPEC_SCHEMA_ID, specJsonSchema, specJsonSchemaText } from './json-schema.js';

describe('specJsonSchema', () => {
  it('is committed as spec/airlock.schema.json (regenerate with `npx vitest run -u`)', async () => {
    await expect(specJsonSchemaText()).toMatchFileSnapshot('../../spec/airlock.schema.json');
  });

  it('describes the input side with an id, a title and field help', () => {
    const schema = specJsonSchema() as {
      $schema: string;
      $id: string;
      title: string;
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { description?: string }>;
    };
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect(schema.$id).toBe(SPEC_SCHEMA_ID);
    expect(schema.title).toBe('airlock spec');
    expect(schema.required).toEqual(['version', 'name', 'images', 'environments']);
    expect(schema.additionalProperties).toBe(false);
    for (const key of ['version', 'name', 'images', 'environments', 'policy']) {
      expect(schema.properties[key]?.description, key).toBeTruthy();
    }
  });

  it('shows durations and sizes as strings a user writes, not as parsed numbers', () => {
    const text = specJsonSchemaText();
    const policy = (specJsonSchema() as { properties: { policy: { properties: Record<string, unknown> } } }).properties.policy;
    expect(policy.properties.timeout).toMatchObject({ type: 'string', examples: expect.arrayContaining(['5m']) });
    expect(policy.properties.memory).toMatchObject({ anyOf: [{ type: 'string' }, { type: 'integer' }] });
    expect(text.endsWith('}\n')).toBe(true);
  });
});
