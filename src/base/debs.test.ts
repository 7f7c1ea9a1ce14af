import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cas } from '../store/cas.js';
import { debDigest, ensureDebs } from './debs.js';
import type { LockedDeb } from './lock.js';

const GOOD = Buffer.from('!<arch>\nthe real package\n');
const EVIL = Buffer.from('!<arch>\na substituted package\n');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/pool/good.deb') res.end(GOOD);
    else if (req.url === '/pool/evil.deb') res.end(EVIL);
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const locked = (file: string, content: Buffer, name = 'pkg'): LockedDeb => ({
  name,
  version: '1.0-1',
  architecture: 'amd64',
  filename: `pool/${file}`,
  size: content.length,
  sha256: sha(content),
  url: `${base}/pool/${file}`,
});

const store = async () => Cas.open(await mkdtemp(join(tmpdir(), 'airlock-debs-')));
const blobs = async (cas: Cas) => readdir(cas.blobDir);

describe('ensureDebs', () => {
  it('downloads a locked .deb into the CAS under its sha256, and then never again', async () => {
    const cas = await store();
    const deb = locked('good.deb', GOOD);
    expect(await ensureDebs(cas, [deb], { lockFile: 'lock' })).toEqual({ fetched: 1, bytes: GOOD.length });
    expect(await cas.readBytes(debDigest(deb))).toEqual(GOOD);
    expect(await ensureDebs(cas, [deb], { lockFile: 'lock', offline: true })).toEqual({ fetched: 0, bytes: 0 });
  });

  it('copies a file another CAS keeps, offline, and never a copy whose bytes are not the locked ones', async () => {
    const keeper = await store();
    const deb = locked('good.deb', GOOD);
    await keeper.put(GOOD);
    const cas = await store();
    expect(await ensureDebs(cas, [deb], { lockFile: 'lock', offline: true, keepers: [keeper.root] })).toEqual({ fetched: 0, bytes: 0 });
    expect(await cas.readBytes(debDigest(deb))).toEqual(GOOD);
    // a keeper whose blob was swapped: not copied, and offline there is nowhere else to look
    const other = locked('other.deb', Buffer.from('other'));
    await writeFile(keeper.pathOf(debDigest(other)), EVIL);
    const fresh = await store();
    await expect(ensureDebs(fresh, [other], { lockFile: 'lock', offline: true, keepers: [keeper.root] })).rejects.toMatchObject({ code: 'BASE_LOCK_UNSATISFIED' });
    expect(await blobs(fresh)).toEqual([]);
  });

  it('refuses a file whose hash is not the locked one and stores nothing', async () => {
    const cas = await store();
    // the mirror serves other bytes under the locked name
    const deb = { ...locked('evil.deb', EVIL), sha256: sha(GOOD) };
    await expect(ensureDebs(cas, [deb], { lockFile: 'lock' })).rejects.toMatchObject({ code: 'FETCH_HASH_MISMATCH' });
    expect(await blobs(cas)).toEqual([]);
    expect(await cas.has(debDigest(deb))).toBe(false);
  });

  it('offline and not in the CAS: BASE_LOCK_UNSATISFIED naming every package and both ways out', async () => {
    const cas = await store();
    const error = await ensureDebs(cas, [locked('good.deb', GOOD, 'alpha'), locked('evil.deb', EVIL, 'beta')], { lockFile: 'locks/x.json', offline: true }).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'BASE_LOCK_UNSATISFIED' });
    expect(error.message).toMatch(/alpha 1\.0-1[\s\S]*beta 1\.0-1/);
    expect(error.message).toContain('airlock base update');
    expect(error.message).toContain('artifacts/blobs/sha256/');
  });

  it('gone from the mirror (404): BASE_LOCK_UNSATISFIED, not a network error', async () => {
    const cas = await store();
    const deb = locked('superseded.deb', GOOD, 'old');
    await expect(ensureDebs(cas, [deb], { lockFile: 'lock' })).rejects.toMatchObject({ code: 'BASE_LOCK_UNSATISFIED', message: expect.stringContaining('no longer has them') });
    expect(await blobs(cas)).toEqual([]);
  });
});
