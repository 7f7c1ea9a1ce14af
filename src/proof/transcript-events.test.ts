import { readFile } from 'node:fs/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterEach, describe, expect, it } from 'vitest';
import { makeBundle, removeBundles } from '../verify/testing/bundle.js';
import { parseTranscript } from './transcript.js';
import { parseEvent, transcriptJsonSchema, transcriptJsonSchemaText } from './transcript-events.js';

afterEach(removeBundles);

const line = (phase: string, data: Record<string, unknown>) => ({ seq: 4, time: '2025-01-01T00:00:00.000Z', phase, data, prev: null });

describe('transcript vocabulary', () => {
  it('spec/transcript.schema.json is committed as generated (regenerate with `airlock schema --write`)', async () => {
    await expect(transcriptJsonSchemaText()).toMatchFileSnapshot('../../spec/transcript.schema.json');
  });

  it('the JSON Schema and parseEvent agree on a sealed bundle\'s lines, and both refuse a broken one', async () => {
    const f = await makeBundle();
    const text = await readFile(`${f.bundleDir}/transcript.jsonl`, 'utf8');
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(transcriptJsonSchema());
    const events = parseTranscript(text);
    expect(events.length).toBeGreaterThan(5);
    for (const e of events) {
      expect(validate(e), `${e.phase}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(parseEvent(e).phase).toBe(e.phase);
    }
    const container = events.find((e) => e.phase === 'container')!;
    const broken = { ...container, data: { ...container.data, hostConfig: 'none' } };
    expect(validate(broken)).toBe(false);
    expect(() => parseEvent(broken)).toThrow(expect.objectContaining({ code: 'TRANSCRIPT_EVENT_INVALID', details: expect.objectContaining({ seq: container.seq, fields: ['data.hostConfig: Invalid input: expected record, received string'] }) }));
  });

  it('TRANSCRIPT_EVENT_INVALID names an unknown phase and every bad field', () => {
    expect(() => parseEvent(line('exfiltrate', {}))).toThrow(expect.objectContaining({ code: 'TRANSCRIPT_EVENT_INVALID', details: expect.objectContaining({ fields: ['phase'] }) }));
    expect(() => parseEvent(line('network', { cell: 'a', id: '', name: 'n' }))).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ fields: [expect.stringMatching(/^data\.id: /), expect.stringMatching(/^data\.readback: /)] }) }),
    );
  });

  it('a reader sees only the fields the vocabulary names', () => {
    const e = parseEvent(line('network', { cell: 'a', id: 'i', name: 'n', readback: { Internal: true, Driver: 'bridge', IPAM: null, Labels: {} }, extra: 1 }));
    expect(e.data).not.toHaveProperty('extra');
  });
});
