import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isAirlockError } from '../errors.js';
import { emptyInputsLock, lockInputs, readInputsLock, serializeInputsLock, writeInputsLock, type InputsLock } from './lock.js';
import type { FetchedInput } from './types.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

const fetched = (name: string, hex: string, size = 3): FetchedInput => ({
  name,
  url: `http://example.test/${name}`,
  digest: `sha256:${hex}`,
  size,
  source: 'network',
  attempts: 1,
  durationMs: 5,
  finalUrl: `http://mirror.test/${name}`,
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('inputs lock', () => {
  it('reads a missing file as an empty lock', async () => {
    expect(await readInputsLock(join(dir, 'nope.json'))).toEqual(emptyInputsLock());
  });

  it('writes sorted, stable JSON that reads back the same', async () => {
    const lock = lockInputs(emptyInputsLock(), [fetched('zlib', A), fetched('Alpha', B, 7), fetched('beta', A)]);
    const file = join(dir, 'inputs.lock.json');
    await writeInputsLock(file, lock);
    const text = await readFile(file, 'utf8');
    expect(text).toBe(serializeInputsLock(lock));
    expect(Object.keys(JSON.parse(text).inputs)).toEqual(['Alpha', 'beta', 'zlib']);
    expect(text.endsWith('}\n')).toBe(true);
    expect(await readInputsLock(file)).toEqual(lock);
    expect(lock.inputs.zlib).toEqual({ url: 'http://example.test/zlib', sha256: A, size: 3 });
  });

  it('lockInputs keeps exactly the fetched inputs unless asked to keep the others', () => {
    const old: InputsLock = { lockVersion: 1, inputs: { gone: { url: 'http://x.test/g', sha256: B, size: 1 } } };
    expect(Object.keys(lockInputs(old, [fetched('zlib', A)]).inputs)).toEqual(['zlib']);
    expect(Object.keys(lockInputs(old, [fetched('zlib', A)], { keepOthers: true }).inputs)).toEqual(['gone', 'zlib']);
  });

  it('refuses a malformed lock, listing every bad field', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ lockVersion: 1, inputs: { z: { url: 'http://x', sha256: 'XYZ', size: -1 } } }));
    const e = await readInputsLock(file).catch((err: unknown) => err);
    expect(isAirlockError(e, 'SPEC_INVALID')).toBe(true);
    expect((e as Error).message).toContain('inputs.z.sha256: expected 64 lowercase hex digits');
    expect((e as Error).message).toContain('inputs.z.size');
    await writeFile(file, '{not json');
    expect(isAirlockError(await readInputsLock(file).catch((err: unknown) => err), 'SPEC_INVALID')).toBe(true);
  });
});
