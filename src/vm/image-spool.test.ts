import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTar, tarStream, type TarSpec } from '../archive/testing/make-tar.js';
import { isAirlockError } from '../errors.js';
import { spoolImage } from './image-spool.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-spool-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spool = async (entries: TarSpec[]) => spoolImage(tarStream(await makeTar(entries)), join(dir, `s${Math.random()}`));

describe('spoolImage', () => {
  it('keeps the image, absolute symlinks included, and drops what the engine or airlock owns', async () => {
    const s = await spool([
      { name: './', type: 'directory' },
      { name: 'bin/', type: 'directory' },
      { name: 'bin/busybox', content: 'BB', mode: 0o4755, uid: 0, gid: 0 },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'bin/up', type: 'symlink', linkname: '../../../..' },
      { name: 'bin/ash', type: 'link', linkname: 'bin/busybox' },
      { name: 'home/u/f', content: 'data', uid: 1000, gid: 1000 },
      { name: '.dockerenv', content: '' },
      { name: 'dev/console', content: '' },
      { name: 'etc/hostname', content: 'abc' },
      { name: '.airlock/busybox', content: 'mountpoint' },
    ]);
    expect(s.entries.map((e) => [e.path, e.type, e.target ?? null])).toEqual([
      ['bin', 'dir', null],
      ['bin/busybox', 'file', null],
      ['bin/sh', 'symlink', '/bin/busybox'],
      ['bin/up', 'symlink', '../../../..'],
      ['bin/ash', 'hardlink', 'bin/busybox'],
      ['home/u/f', 'file', null],
    ]);
    expect(s.skipped).toBe(4);
    expect(s.contentBytes).toBe(6);
    expect(s.entries[1]).toMatchObject({ mode: 0o4755, size: 2 });
    expect(s.entries[5]).toMatchObject({ uid: 1000, gid: 1000, size: 4, offset: 2 });
    expect((await readFile(s.spoolPath)).toString()).toBe('BBdata');
  });

  it.each([
    ['an absolute name', [{ name: '/etc/passwd', content: 'x' }]],
    ['a `..` name', [{ name: 'a/../../etc/passwd', content: 'x' }]],
    ['a device', [{ name: 'null', type: 'character-device' as const, devmajor: 1, devminor: 3 }]],
    ['a duplicate', [{ name: 'f', content: 'a' }, { name: 'f', content: 'b' }]],
    ['an entry below a symlink', [{ name: 'l', type: 'symlink' as const, linkname: '/etc' }, { name: 'l/passwd', content: 'x' }]],
    ['a hardlink to nothing earlier', [{ name: 'h', type: 'link' as const, linkname: 'later' }]],
  ])('refuses %s with ARCHIVE_UNSAFE', async (_what, entries) => {
    const err = await spool(entries as TarSpec[]).catch((e: unknown) => e);
    expect(isAirlockError(err, 'ARCHIVE_UNSAFE')).toBe(true);
  });
});
