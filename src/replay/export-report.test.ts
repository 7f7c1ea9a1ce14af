import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { blobPath } from '../store/layout.js';
import { digestHex } from '../util/digest.js';
import { verifyBundle } from '../verify/index.js';
import { makeBundle, removeBundles } from '../verify/testing/bundle.js';
import { exportBundle } from './export.js';

afterEach(removeBundles);

describe('exportBundle and the report', () => {
  it("carries report-files/ as links to the copy's blobs, so the page's links resolve in the copy", async () => {
    const f = await makeBundle();
    const files = join(f.bundleDir, 'report-files', 'sha256');
    await mkdir(files, { recursive: true });
    const linked = [f.blobs.stdout, f.blobs.output];
    for (const b of linked) await copyFile(blobPath(f.cas, b.digest), join(files, digestHex(b.digest)));
    // not a blob of the manifest: never copied unchecked
    await writeFile(join(files, 'f'.repeat(64)), 'anything');
    const hrefs = linked.map((b) => `report-files/sha256/${digestHex(b.digest)}`);
    await writeFile(join(f.bundleDir, 'report.html'), hrefs.map((h) => `<a href="${h}">x</a>`).join('\n'));

    const outDir = join(f.root, 'exported');
    const r = await exportBundle({ bundleDir: f.bundleDir, outDir, blobDirs: [f.cas] });
    expect(r.files).toContain('report.html');
    expect((await readdir(join(outDir, 'report-files', 'sha256'))).sort()).toEqual(linked.map((b) => digestHex(b.digest)).sort());
    for (const [i, h] of hrefs.entries()) {
      expect(await readFile(join(outDir, h))).toEqual(await readFile(blobPath(f.cas, linked[i]!.digest)));
      // the same file as the copy's blob (a hard link), not a second copy
      expect((await stat(join(outDir, h))).ino).toBe((await stat(blobPath(outDir, linked[i]!.digest))).ino);
    }
    await expect(verifyBundle({ bundleDir: outDir, trustedKeys: [f.key], blobDirs: [] })).resolves.toMatchObject({ ok: true });
  });

  it('exports a bundle without report-files/ as before', async () => {
    const f = await makeBundle();
    const outDir = join(f.root, 'exported');
    await exportBundle({ bundleDir: f.bundleDir, outDir, blobDirs: [f.cas] });
    expect(await readdir(outDir)).not.toContain('report-files');
  });
});
