import { execFileSync } from 'node:child_process';
import { readdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyBundle } from '../verify/index.js';
import { file, makeBundle, removeBundles } from '../verify/testing/bundle.js';
import { exportBundle } from './export.js';

afterEach(removeBundles);

describe('exportBundle', () => {
  it('writes a copy that verifies with no other blobs', async () => {
    const f = await makeBundle();
    const outDir = join(f.root, 'exported');
    const r = await exportBundle({ bundleDir: f.bundleDir, outDir, blobDirs: [f.cas] });
    expect(r).toMatchObject({ blobs: 4 });
    await expect(verifyBundle({ bundleDir: outDir, trustedKeys: [f.key], blobDirs: [] })).resolves.toMatchObject({ ok: true });
  });

  it.each([
    ['a fifo', (p: string) => execFileSync('mkfifo', [p])],
    ['a symlink to /dev/zero', (p: string) => symlink('/dev/zero', p)],
  ])('refuses a bundle whose manifest is %s at once, reading nothing, writing nothing', async (_what, make) => {
    const f = await makeBundle();
    await rm(file(f, 'bundle.json'));
    await make(file(f, 'bundle.json'));
    await expect(exportBundle({ bundleDir: f.bundleDir, outDir: join(f.root, 'exported'), blobDirs: [f.cas] })).rejects.toMatchObject({ code: 'BUNDLE_FILE_UNSAFE' });
    expect(await readdir(f.root)).not.toContain('exported');
  });
});
