import { describe, expect, it } from 'vitest';
import { AirlockError } from '../errors.js';
import { errorLine, resultLine } from './output.js';
import { OUTPUT_SCHEMA_ID, OutputLineSchema, outputJsonSchema, outputJsonSchemaText } from './output-schema.js';

describe('the --json output schema', () => {
  it('is committed as spec/cli-output.schema.json (regenerate with `airlock schema --write`)', async () => {
    await expect(outputJsonSchemaText()).toMatchFileSnapshot('../../spec/cli-output.schema.json');
  });

  it('has an id and accepts a result, an error and an event line', () => {
    expect(outputJsonSchema().$id).toBe(OUTPUT_SCHEMA_ID);
    const result = JSON.parse(resultLine('verify', 0, { runId: 'r', keyid: 'k' }));
    expect(result).toMatchObject({ type: 'result', schemaVersion: 1, command: 'verify', ok: true, exitCode: 0, runId: 'r' });
    expect(OutputLineSchema.safeParse(result).success).toBe(true);
    const error = JSON.parse(errorLine('verify', new AirlockError('SIGNATURE_INVALID', 'bad', { details: { keyid: 'k' } })));
    expect(error).toMatchObject({ type: 'error', command: 'verify', ok: false, exitCode: 7, code: 'SIGNATURE_INVALID' });
    expect(OutputLineSchema.safeParse(error).success).toBe(true);
    expect(OutputLineSchema.safeParse({ type: 'cell-finished', time: new Date().toISOString(), cell: 'smoke' }).success).toBe(true);
  });

  it("keeps the envelope's fields whatever the command's own fields say", () => {
    const line = JSON.parse(resultLine('run', 1, { ok: true, exitCode: 0, type: 'x', runId: 'r' }));
    expect(line).toMatchObject({ type: 'result', ok: false, exitCode: 1, runId: 'r' });
    expect(Object.keys(line).slice(0, 6)).toEqual(['type', 'schemaVersion', 'command', 'ok', 'exitCode', 'time']);
  });

  it('refuses lines that break the contract', () => {
    const ok = JSON.parse(resultLine('gc', 0, {}));
    expect(OutputLineSchema.safeParse({ ...ok, schemaVersion: 2 }).success).toBe(false);
    expect(OutputLineSchema.safeParse({ ...ok, exitCode: undefined }).success).toBe(false);
    const error = JSON.parse(errorLine(null, new AirlockError('USAGE', 'unknown command')));
    expect(OutputLineSchema.safeParse({ ...error, code: undefined }).success).toBe(false);
    expect(OutputLineSchema.safeParse({ ...error, ok: true }).success).toBe(false);
  });
});
