import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KERNEL_LOCK_FILE, resolveKernel } from '../src/vm/kernel.js';
import { REPO } from './helpers.js';

async function alteredLock(): Promise<{ dir: string; real: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-kernel-'));
  await cp(join(REPO, 'locks', KERNEL_LOCK_FILE), join(dir, KERNEL_LOCK_FILE));
  const lock = JSON.parse(await readFile(join(dir, KERNEL_LOCK_FILE), 'utf8'));
  const real = (await resolveKernel(dir)).sha256;
  lock.kernel.sha256 = `sha256:${'0'.repeat(64)}`;
  await writeFile(join(dir, KERNEL_LOCK_FILE), JSON.stringify(lock));
  return { dir, real };
}

describe('the pinned guest kernel', () => {
  it('frozen: a kernel that differs from its lock is refused, naming what differs', async () => {
    const { dir } = await alteredLock();
    const error = await resolveKernel(dir, { frozen: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FETCH_HASH_MISMATCH' });
    expect((error as Error).message).toContain(`locked sha256:${'0'.repeat(64)}`);
  });

  it('not frozen: it is re-pinned to what is installed, like a rebuilt base image', async () => {
    const { dir, real } = await alteredLock();
    const kernel = await resolveKernel(dir);
    expect(kernel.sha256).toBe(real);
    expect(JSON.parse(await readFile(join(dir, KERNEL_LOCK_FILE), 'utf8')).kernel.sha256).toBe(real);
  });
});
