import { afterEach, describe, expect, it } from 'vitest';
import { makeBundle, removeBundles } from '../verify/testing/bundle.js';
import { rootsReader } from './blob-reader.js';
import { readRunRecord } from './run-record.js';

afterEach(removeBundles);

describe('readRunRecord', () => {
  it('reads images, cells, steps, outputs and users from a sealed bundle with the transcript schemas', async () => {
    const f = await makeBundle();
    const r = await readRunRecord(f.bundleDir);
    expect(r.runId).toBe('run-7');
    expect(r.startedAt.toISOString()).toBe('2025-06-01T00:00:00.000Z');
    expect(r.images).toEqual([expect.objectContaining({ key: 'linux@0', name: 'linux', imageId: 'sha256:1234' })]);
    expect(r.cells).toEqual([expect.objectContaining({ id: 'linux', env: 'linux', status: 'passed' })]);
    expect(r.users).toEqual({ linux: '65534:65534' });
  });

  it('reads blobs from the first root that has them, and names every root when none does', async () => {
    const f = await makeBundle();
    const reader = rootsReader([f.bundleDir, f.cas]);
    expect((await reader.read(f.blobs.stdout.digest)).toString()).toBe('ok 1 - works\n');
    await expect(rootsReader([f.bundleDir]).read(f.blobs.stdout.digest)).rejects.toMatchObject({ code: 'BLOB_MISSING' });
  });
});
