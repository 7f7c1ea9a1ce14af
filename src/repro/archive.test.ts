import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sha256Digest } from '../util/digest.js';
import { archiveKind, openArchive } from './archive.js';
import { diffTrees } from './tree.js';
import type { DiffContext, FileSide, RunFacts } from './types.js';
import { hasTool, runFacts } from './testing/fixtures.js';

const T0 = 1795294991; // 2026-11-21T21:03:11Z, inside run 1
const T1 = 1795295114; // 2026-11-21T21:05:14Z, inside run 2
const OLD = 1700000000; // 2023, outside both runs


function run(start: string, end: string, over: Partial<RunFacts>): RunFacts {
  return runFacts(new Date(start), new Date(end), { buildPath: '/tmp/airlock-build-3f9c1', user: 'alice', ...over });
}

const CTX: DiffContext = {
  runs: [
    run('2026-11-21T21:03:00Z', '2026-11-21T21:03:20Z', {}),
    run('2026-11-21T21:05:00Z', '2026-11-21T21:05:30Z', { hostname: 'builder-b2', buildPath: '/tmp/airlock-build-77e0d', user: 'bob', uid: 1001, gid: 1001 }),
  ],
};

const file = (path: string, buf: Buffer): FileSide => ({ path, type: 'file', mode: 0o644, size: buf.length, digest: sha256Digest(buf), read: async () => buf });

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'airlock-archive-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A tree under root/<name>: etc/ and etc/motd, with the given mode and mtime on motd. */
function tree(name: string, motd: { mode: number; mtime: number; content?: string }): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc/motd'), motd.content ?? 'welcome\n');
  chmodSync(join(dir, 'etc/motd'), motd.mode);
  chmodSync(join(dir, 'etc'), 0o755);
  utimesSync(join(dir, 'etc/motd'), motd.mtime, motd.mtime);
  utimesSync(join(dir, 'etc'), OLD, OLD);
  return dir;
}

const cpio = (dir: string, format: string, owner = '0:0'): Buffer =>
  execFileSync('cpio', ['-o', '--quiet', '-H', format, '-R', owner], { cwd: dir, input: 'etc\netc/motd\n' });

describe.skipIf(!hasTool('cpio'))('cpio archives (GNU cpio is not installed)', () => {
  it('are recognised by magic, plain and gzipped (cpio.gz keeps the gzip header)', async () => {
    const dir = tree('kinds', { mode: 0o644, mtime: T0 });
    const newc = cpio(dir, 'newc');
    expect(archiveKind(newc)).toBe('cpio');
    expect(archiveKind(cpio(dir, 'odc'))).toBe('cpio');
    const opened = await openArchive(newc, 'initrd.cpio', 1024);
    expect(opened).toMatchObject({ kind: 'cpio', order: ['etc', 'etc/motd'] });
    expect(opened!.fields!['cpio inode numbers']).toMatch(/^\S+:\d+ \S+:\d+$/);
    const gz = await openArchive(gzipSync(newc), 'initrd.img', 1024);
    expect(gz).toMatchObject({ kind: 'cpio.gz', order: ['etc', 'etc/motd'], gzip: { mtime: 0 } });
  });

  it('members differing in mtime, owner and mode are compared field by field through diffTrees', async () => {
    const a = gzipSync(cpio(tree('a', { mode: 0o644, mtime: T0 }), 'newc', '0:0'));
    const b = gzipSync(cpio(tree('b', { mode: 0o600, mtime: T1 }), 'newc', '1001:1001'));
    const [e] = await diffTrees([file('boot/initrd.img', a)], [file('boot/initrd.img', b)], CTX);
    expect(e!.members!.map((m) => [m.path, m.differs])).toEqual([
      ['etc', ['owner']],
      ['etc/motd', ['mode', 'owner', 'mtime']],
    ]);
    expect(e!.members![1]!.likelyCause).toMatchObject({
      cause: 'timestamp',
      evidence: expect.stringMatching(/^mtime 2026-11-21T21:03:11Z vs 2026-11-21T21:05:14Z, both inside the build windows/),
    });
    expect(e!.likelyCause).toMatchObject({ cause: 'timestamp', evidence: expect.stringMatching(/^etc\/motd: mtime /) });
  });

  it('the same tree copied elsewhere: members equal, inode numbers differ (a field outside the members)', async () => {
    const dir = tree('orig', { mode: 0o644, mtime: OLD });
    cpSync(dir, join(root, 'copy'), { recursive: true, preserveTimestamps: true });
    const [a, b] = [await openArchive(cpio(dir, 'newc'), 'x.cpio', 1024), await openArchive(cpio(join(root, 'copy'), 'newc'), 'x.cpio', 1024)];
    expect(await diffTrees(a!.members, b!.members, CTX)).toEqual([]);
    expect(a!.fields!['cpio inode numbers']).not.toBe(b!.fields!['cpio inode numbers']);
  });

  it('a truncated cpio is compared as bytes with a note, without throwing out of diffTrees', async () => {
    const whole = cpio(tree('trunc', { mode: 0o644, mtime: T0 }), 'newc');
    const cut = whole.subarray(0, 200);
    // etc: a 110-byte header and "etc\0", padded to 116; etc/motd's header starts there
    await expect(openArchive(cut, 'x.cpio', 1024)).rejects.toThrow(/^cpio member 1 at offset 116: /);
    const other = Buffer.from(cut);
    other[199] = other[199]! ^ 1;
    const [e] = await diffTrees([file('x.cpio', cut)], [file('x.cpio', other)], CTX);
    expect(e).toMatchObject({ path: 'x.cpio', differs: ['content'], note: expect.stringMatching(/^not opened as an archive: cpio member 1 at offset 116: truncated/) });
    expect(e!.likelyCause).toBeDefined();
  });
});

describe.skipIf(!hasTool('ar'))('ar archives and .deb packages (binutils is not installed)', () => {
  const ar = (dir: string, flags: string): Buffer => {
    rmSync(join(dir, 'lib.a'), { force: true });
    execFileSync('ar', [flags, 'lib.a', 'etc/motd'], { cwd: dir });
    return readFileSync(join(dir, 'lib.a'));
  };

  it('ar rcU archives whose member mtimes differ: the member and its mtime', async () => {
    const a = ar(tree('ar-a', { mode: 0o644, mtime: T0 }), 'rcU');
    const b = ar(tree('ar-b', { mode: 0o644, mtime: T1 }), 'rcU');
    expect(archiveKind(a)).toBe('ar');
    const [e] = await diffTrees([file('usr/lib/libmotd.a', a)], [file('usr/lib/libmotd.a', b)], CTX);
    expect(e!.members).toEqual([
      { path: 'motd', differs: ['mtime'], likelyCause: { cause: 'timestamp', evidence: 'mtime 2026-11-21T21:03:11Z vs 2026-11-21T21:05:14Z, both inside the build windows' } },
    ]);
    expect((await openArchive(ar(join(root, 'ar-a'), 'rcD'), 'x.a', 1024))!.members[0]).toMatchObject({ path: 'motd', mtime: 0, uid: 0, gid: 0, mode: 0o644 });
  });

  it('a malformed ar is compared as bytes with a note', async () => {
    const a = ar(tree('ar-bad', { mode: 0o644, mtime: T0 }), 'rcD');
    const broken = (x: string): Buffer => Buffer.concat([a.subarray(0, 8 + 58), Buffer.from(x)]);
    const [e] = await diffTrees([file('x.a', broken('aa'))], [file('x.a', broken('bb'))], CTX);
    expect(e!.note).toBe('not opened as an archive: ar member 0 at offset 8: header does not end in `\\n (not an ar member)');
  });

  describe.skipIf(!hasTool('dpkg-deb'))('.deb (dpkg-deb is not installed)', () => {
    /** `dpkg-deb --build` of a package whose README says when it was built; dpkg-deb stamps ar members with SOURCE_DATE_EPOCH. */
    function deb(name: string, epoch: number, built: string, compress: 'gzip' | 'xz'): Buffer {
      const dir = join(root, name);
      mkdirSync(join(dir, 'DEBIAN'), { recursive: true });
      mkdirSync(join(dir, 'usr/share/doc/motd'), { recursive: true });
      writeFileSync(join(dir, 'DEBIAN/control'), 'Package: motd\nVersion: 1.0\nArchitecture: all\nMaintainer: A <a@example.org>\nDescription: test\n');
      writeFileSync(join(dir, 'usr/share/doc/motd/README'), `motd 1.0, built ${built}\n`);
      for (const p of ['DEBIAN/control', 'DEBIAN', 'usr/share/doc/motd/README', 'usr/share/doc/motd', 'usr/share/doc', 'usr/share', 'usr', '.']) utimesSync(join(dir, p), OLD, OLD);
      const out = join(root, `${name}.deb`);
      execFileSync('dpkg-deb', ['--root-owner-group', `-Z${compress}`, '--build', dir, out], { env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) }, stdio: 'ignore' });
      return readFileSync(out);
    }

    it('a .deb is an ar of debian-binary, control.tar.* and data.tar.*; data.tar.gz is opened down to the file', async () => {
      const a = deb('deb-a', T0, '2026-11-21T21:03:11Z', 'gzip');
      const b = deb('deb-b', T1, '2026-11-21T21:05:14Z', 'gzip');
      expect(await openArchive(a, 'motd.deb', 1 << 20)).toMatchObject({ kind: 'deb', order: ['debian-binary', 'control.tar.gz', 'data.tar.gz'] });
      const [e] = await diffTrees([file('motd_1.0_all.deb', a)], [file('motd_1.0_all.deb', b)], CTX);
      expect(e!.members!.map((m) => [m.path, m.differs])).toEqual([
        ['control.tar.gz', ['mtime']],
        ['data.tar.gz', ['content', 'mtime']],
        ['debian-binary', ['mtime']],
      ]);
      const data = e!.members![1]!;
      expect(data.members).toEqual([
        {
          path: 'usr/share/doc/motd/README',
          differs: ['content'],
          unifiedDiff: expect.stringContaining('+motd 1.0, built 2026-11-21T21:05:14Z'),
          likelyCause: {
            cause: 'timestamp',
            evidence: "line 1: 'motd 1.0, built 2026-11-21T21:03:11Z' vs 'motd 1.0, built 2026-11-21T21:05:14Z', both inside the build windows (ISO 8601)",
          },
        },
      ]);
      expect(e!.likelyCause!.cause).toBe('timestamp');
    });

    it('data.tar.xz is compared as bytes, with a note that xz is not opened', async () => {
      const a = deb('debxz-a', T0, '2026-11-21T21:03:11Z', 'xz');
      const b = deb('debxz-b', T0, '2026-11-21T21:05:14Z', 'xz');
      const [e] = await diffTrees([file('motd.deb', a)], [file('motd.deb', b)], CTX);
      expect(e!.members).toEqual([
        expect.objectContaining({ path: 'data.tar.xz', differs: expect.arrayContaining(['content']), note: 'not opened as an archive: xz not opened (node:zlib has no xz decoder)' }),
      ]);
    });
  });
});

describe('compressions node:zlib cannot open', () => {
  it('xz and zstd are refused with a message; unknown bytes are not archives', async () => {
    await expect(openArchive(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 4]), 'a.xz', 1024)).rejects.toThrow('xz not opened (node:zlib has no xz decoder)');
    await expect(openArchive(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]), 'a.zst', 1024)).rejects.toThrow('zstd not opened (node:zlib has no zstd decoder)');
    expect(await openArchive(Buffer.from('just text\n'), 'a.txt', 1024)).toBeUndefined();
    expect(await openArchive(Buffer.from('\x7fELF\x02\x01\x01\0', 'latin1'), 'a.so', 1024)).toBeUndefined();
  });
});
