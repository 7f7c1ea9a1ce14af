import { readFile } from 'node:fs/promises';
import { z } from 'zod';

import { AirlockError } from '../errors.js';
import { writeFileAtomic } from '../proof/atomic-write.js';
import { compareBytes } from '../archive/paths.js';
import { digestHex } from '../util/digest.js';
import type { FetchedInput } from './types.js';

/** The file under `locks/` that pins every input's content. */
export const INPUTS_LOCK_FILE = 'inputs.lock.json';

const HEX_RE = /^[0-9a-f]{64}$/;

const InputsLockSchema = z.object({
  lockVersion: z.literal(1),
  inputs: z.record(
    z.string().min(1),
    z.object({
      url: z.string().min(1),
      sha256: z.string().regex(HEX_RE, 'expected 64 lowercase hex digits'),
      size: z.number().int().nonnegative(),
    }),
  ),
});

/** `locks/inputs.lock.json`: for each input name, the URL it was pinned from, its sha256 (hex) and size. */
export type InputsLock = z.infer<typeof InputsLockSchema>;
export type InputsLockEntry = InputsLock['inputs'][string];

export function emptyInputsLock(): InputsLock {
  return { lockVersion: 1, inputs: {} };
}

/** Reads the lock; a missing file is an empty lock. A malformed one is SPEC_INVALID listing every bad field. */
export async function readInputsLock(file: string): Promise<InputsLock> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyInputsLock();
    throw new AirlockError('SPEC_INVALID', `cannot read ${file}: ${(e as Error).message}`, { cause: e, details: { file } });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AirlockError('SPEC_INVALID', `${file} is not JSON: ${(e as Error).message}`, { cause: e, details: { file } });
  }
  const parsed = InputsLockSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new AirlockError('SPEC_INVALID', `${file} is not a valid inputs lock: ${issues.join('; ')}`, {
      details: { file, issues },
    });
  }
  return parsed.data;
}

/** The lock as written: keys in byte order, two-space JSON, trailing newline, so diffs stay small. */
export function serializeInputsLock(lock: InputsLock): string {
  const names = Object.keys(lock.inputs).sort(compareBytes);
  const inputs: Record<string, InputsLockEntry> = {};
  for (const name of names) {
    const { url, sha256, size } = lock.inputs[name]!;
    inputs[name] = { url, sha256, size };
  }
  return `${JSON.stringify({ lockVersion: 1, inputs }, null, 2)}\n`;
}

/** Writes the lock atomically (temp file, fsync, rename): a reader sees the old lock or the new one. */
export async function writeInputsLock(file: string, lock: InputsLock): Promise<void> {
  await writeFileAtomic(file, serializeInputsLock(lock));
}

/**
 * What `airlock lock` writes: every fetched input pinned by the digest it actually had.
 * By default the result holds exactly the fetched inputs (entries for inputs no longer in
 * the spec are dropped); `keepOthers` keeps them, for locking a subset.
 */
export function lockInputs(lock: InputsLock, fetched: readonly FetchedInput[], options: { keepOthers?: boolean } = {}): InputsLock {
  const inputs: Record<string, InputsLockEntry> = options.keepOthers ? { ...lock.inputs } : {};
  for (const f of fetched) {
    inputs[f.name] = { url: f.url, sha256: digestHex(f.digest), size: f.size };
  }
  const sorted: Record<string, InputsLockEntry> = {};
  for (const name of Object.keys(inputs).sort(compareBytes)) sorted[name] = inputs[name]!;
  return { lockVersion: 1, inputs: sorted };
}
