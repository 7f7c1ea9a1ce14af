import { mkdtemp, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashFile, rememberedFact, rememberedSha256 } from './file-stamp.js';

async function fixture() {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-stamp-'));
  const file = join(dir, 'vmlinuz');
  await writeFile(file, 'kernel bytes');
  return { file, stamps: join(dir, 'stamps', '.digests.json') };
}

describe('facts remembered per file identity', () => {
  it('derives once while the file is unchanged, and says the same as deriving', async () => {
    const { file, stamps } = await fixture();
    let calls = 0;
    const derive = async (p: string) => {
      calls++;
      return hashFile(p);
    };
    const first = await rememberedFact(stamps, 'sha256', file, derive);
    expect(await rememberedFact(stamps, 'sha256', file, derive)).toBe(first);
    expect(calls).toBe(1);
    expect(first).toBe(await hashFile(file));
    expect(await rememberedSha256(stamps, file)).toBe(first);
  });

  it('derives again when the bytes change, even with the same size and the old mtime put back', async () => {
    const { file, stamps } = await fixture();
    const before = await rememberedSha256(stamps, file);
    const { atime, mtime } = await stat(file);
    await writeFile(file, 'KERNEL BYTES');
    await utimes(file, atime, mtime); // ctime still moves: the kernel sets it on every change
    const after = await rememberedSha256(stamps, file);
    expect(after).not.toBe(before);
    expect(after).toBe(await hashFile(file));
  });

  it('treats a damaged stamp file as no stamp', async () => {
    const { file, stamps } = await fixture();
    await rememberedSha256(stamps, file);
    await writeFile(stamps, '{ not json');
    expect(await rememberedSha256(stamps, file)).toBe(await hashFile(file));
    expect(JSON.parse(await readFile(stamps, 'utf8'))).toBeTypeOf('object');
  });
});
