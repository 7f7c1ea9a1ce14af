import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureBaseImages } from '../src/base/ensure.js';
import { BASE_LOCK_FILE, readBaseLock } from '../src/base/lock.js';
import { connectEngine } from '../src/engine/client.js';
import { LABEL_ROOTFS } from '../src/engine/labels.js';
import { measureImage } from '../src/engine/measure.js';
import { REPO } from './helpers.js';

const docker = connectEngine();
const BUSYBOX = 'airlock/busybox:latest';

async function locksCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-locks-'));
  await cp(join(REPO, 'locks', BASE_LOCK_FILE), join(dir, BASE_LOCK_FILE));
  return dir;
}

describe('base images', () => {
  it('are present and match the lock, so setup is fast when nothing changed', async () => {
    const results = await ensureBaseImages(docker, { locksDir: await locksCopy() });
    expect(results.map((r) => r.outcome)).toEqual(['present', 'present', 'present']);
    expect(results.reduce((t, r) => t + r.durationMs, 0)).toBeLessThan(5_000);
  });

  it('measure the same through the engine as from the tar they were imported from', async () => {
    const labelled = (await docker.getImage(BUSYBOX).inspect()).Config.Labels[LABEL_ROOTFS];
    const measured = await measureImage(docker, BUSYBOX, 'test-measure');
    expect(measured.digest).toBe(labelled);
  });

  it('--frozen fails with a diff naming the digest and the package that changed', async () => {
    const dir = await locksCopy();
    const lock = await readBaseLock(join(dir, BASE_LOCK_FILE));
    const pinned = lock.images[BUSYBOX]!;
    pinned.rootfsDigest = `sha256:${'0'.repeat(64)}`;
    pinned.source.packages['busybox-static'] = '1:0.0-old';
    await writeFile(join(dir, BASE_LOCK_FILE), JSON.stringify(lock));
    const error = await ensureBaseImages(docker, { locksDir: dir, frozen: true, only: [BUSYBOX] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BASE_LOCK_MISMATCH' });
    const message = (error as Error).message;
    expect(message).toContain(`rootfs sha256:${'0'.repeat(64)} (locked) != `);
    expect(message).toMatch(/~ busybox-static 1:0\.0-old -> 1:1\.35/);
  });

  it('without --frozen a rebuilt base that differs updates its lock and says what changed', async () => {
    const dir = await locksCopy();
    const lock = await readBaseLock(join(dir, BASE_LOCK_FILE));
    const real = lock.images[BUSYBOX]!.rootfsDigest;
    lock.images[BUSYBOX]!.rootfsDigest = `sha256:${'1'.repeat(64)}`;
    await writeFile(join(dir, BASE_LOCK_FILE), JSON.stringify(lock));
    const [result] = await ensureBaseImages(docker, { locksDir: dir, only: [BUSYBOX] });
    expect(result).toMatchObject({ outcome: 'built-lock-updated', rootfsDigest: real });
    expect(result!.diff![0]).toContain('(locked) !=');
    expect(JSON.parse(await readFile(join(dir, BASE_LOCK_FILE), 'utf8')).images[BUSYBOX].rootfsDigest).toBe(real);
  });
});
