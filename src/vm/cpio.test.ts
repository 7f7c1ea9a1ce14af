import { mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cpioEntryHead, cpioTrailer, parseCpio } from './cpio.js';
import { writeCpio } from './guest-root.js';
import { guestTree, GUEST_MTIME } from './guest-tree.js';
import type { ImageEntry } from './image-spool.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-cpio-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An image of three files in a spool (one hardlinked twice), a symlink and a setuid file. */
async function sample(): Promise<{ entries: ImageEntry[]; spool: string }> {
  const spool = join(dir, 'spool');
  const a = Buffer.from('alpha\n');
  const big = Buffer.alloc(70_001, 7); // not a multiple of 4: padding matters
  await writeFile(spool, Buffer.concat([a, big]));
  const e = (x: Partial<ImageEntry> & { path: string; type: ImageEntry['type'] }): ImageEntry => ({ mode: 0o644, uid: 0, gid: 0, size: 0, offset: 0, ...x });
  return {
    spool,
    entries: [
      e({ path: 'usr/bin/tool', type: 'file', mode: 0o4755, uid: 1000, gid: 50, size: big.length, offset: a.length }),
      e({ path: 'etc', type: 'dir', mode: 0o755 }),
      e({ path: 'etc/a', type: 'file', size: a.length, offset: 0 }),
      e({ path: 'bin/sh', type: 'symlink', mode: 0o777, target: '/usr/bin/tool' }),
      e({ path: 'etc/a-link', type: 'hardlink', target: 'etc/a' }),
      e({ path: 'etc/0-link', type: 'hardlink', target: 'etc/a' }),
    ],
  };
}

describe('cpio newc writer', () => {
  it('writes what host cpio lists and unpacks, and what parseCpio reads back', async () => {
    const { entries, spool } = await sample();
    const tree = guestTree(entries, [{ path: 'dev/console', type: 'char', mode: 0o600, rdev: [5, 1] }]);
    const out = join(dir, 'root.cpio');
    const fact = await writeCpio(tree, spool, out, false);
    const bytes = await readFile(out);
    expect(fact.size).toBe(bytes.length);
    expect(bytes.length % 4).toBe(0);

    const listed = (await execa('cpio', ['-t', '--quiet', '-F', out])).stdout.split('\n');
    expect(listed).toEqual(['bin', 'bin/sh', 'dev', 'dev/console', 'etc', 'etc/0-link', 'etc/a', 'etc/a-link', 'usr', 'usr/bin', 'usr/bin/tool']);

    const records = parseCpio(bytes);
    const by = new Map(records.map((r) => [r.path, r]));
    expect(by.get('usr/bin/tool')).toMatchObject({ mode: 0o104755, uid: 1000, gid: 50, mtime: GUEST_MTIME, nlink: 1 });
    expect(by.get('usr/bin/tool')!.data.equals(Buffer.alloc(70_001, 7))).toBe(true);
    expect(by.get('bin/sh')).toMatchObject({ mode: 0o120777 });
    expect(by.get('bin/sh')!.data.toString()).toBe('/usr/bin/tool');
    expect(by.get('dev/console')).toMatchObject({ mode: 0o020600, rdevMajor: 5, rdevMinor: 1 });
    // hardlinks: one inode, three names, the data with the byte-smallest name only
    const group = ['etc/0-link', 'etc/a', 'etc/a-link'].map((p) => by.get(p)!);
    expect(new Set(group.map((r) => r.ino)).size).toBe(1);
    expect(group.map((r) => [r.nlink, r.data.toString()])).toEqual([[3, 'alpha\n'], [3, ''], [3, '']]);

    const x = join(dir, 'x');
    await execa('cpio', ['-i', '-d', '-m', '--quiet', '-D', x, '-F', out]);
    expect(await readFile(join(x, 'etc/a-link'), 'utf8')).toBe('alpha\n');
    expect((await stat(join(x, 'etc/a'))).ino).toBe((await stat(join(x, 'etc/0-link'))).ino);
    expect(await readlink(join(x, 'bin/sh'))).toBe('/usr/bin/tool');
    expect((await stat(join(x, 'usr/bin/tool'))).size).toBe(70_001);
    expect(Math.floor((await stat(join(x, 'etc/a'))).mtimeMs / 1000)).toBe(GUEST_MTIME);
  });

  it('is deterministic: the same entries in any order give the same bytes', async () => {
    const { entries, spool } = await sample();
    const a = await writeCpio(guestTree(entries, []), spool, join(dir, 'a.cpio'), true);
    const b = await writeCpio(guestTree([...entries].reverse(), []), spool, join(dir, 'b.cpio'), true);
    expect(a.sha256).toBe(b.sha256);
    const plain = await writeCpio(guestTree(entries, []), spool, join(dir, 'c.cpio'), false);
    const gunzipped = gunzipSync(await readFile(a.path));
    expect(gunzipped.equals(await readFile(plain.path))).toBe(true);
  });

  it('pads names and data to 4 bytes and ends with the trailer', () => {
    const head = cpioEntryHead({ path: 'ab', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, ino: 1, nlink: 1, size: 1 });
    expect(head.length).toBe(116); // 110-byte header + "ab\0" = 113, padded to 116
    expect(head.toString('latin1', 0, 6)).toBe('070701');
  });

  it('refuses fields that do not fit', () => {
    expect(() => cpioEntryHead({ path: 'f', type: 'file', mode: 0o644, uid: 2 ** 32, gid: 0, mtime: 0, ino: 1, nlink: 1, size: 0 })).toThrow(RangeError);
    expect(parseCpio(cpioTrailer())).toEqual([]);
  });
});
