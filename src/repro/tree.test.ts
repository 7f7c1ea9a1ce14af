import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

import { makeTar, type TarSpec } from '../archive/testing/make-tar.js';
import { CTX, dir, file, makeZip } from './testing/fixtures.js';
import { diffTrees } from './tree.js';
import type { FileSide } from './types.js';

const T0 = 1795294991; // 2026-11-21T21:03:11Z, inside run 1
const T1 = 1795295114; // 2026-11-21T21:05:14Z, inside run 2

describe('diffTrees: paths and metadata', () => {
  it('reports nothing for identical trees, without reading content whose digests match', async () => {
    const unreadable = (path: string): FileSide => ({ ...file(path, 'same'), read: () => Promise.reject(new Error('read')) });
    expect(await diffTrees([dir('usr'), unreadable('usr/a')], [dir('usr'), unreadable('usr/a')], CTX)).toEqual([]);
  });

  it('reports mode, owner, type, target and paths on one side only, sorted by path', async () => {
    const a: FileSide[] = [
      file('bin/tool', 'x', { mode: 0o755 }),
      file('etc/conf', 'c', { uid: 1000, gid: 1000, uname: 'alice', gname: 'alice' }),
      { path: 'lib/libz.so', type: 'symlink', target: 'libz.so.1.3' },
      file('only-a', 'a'),
      file('kind', 'k'),
    ];
    const b: FileSide[] = [
      file('bin/tool', 'x', { mode: 0o775 }),
      file('etc/conf', 'c', { uid: 1001, gid: 1001, uname: 'bob', gname: 'bob' }),
      { path: 'lib/libz.so', type: 'symlink', target: 'libz.so.1.3.1' },
      file('only-b', 'b'),
      dir('kind'),
    ];
    expect(await diffTrees(a, b, CTX)).toEqual([
      { path: 'bin/tool', differs: ['mode'], likelyCause: { cause: 'unknown', evidence: 'mode 0755 vs 0775' } },
      {
        path: 'etc/conf',
        differs: ['owner'],
        likelyCause: {
          cause: 'uid-gid',
          evidence:
            "uid 1000 vs 1001, gid 1000 vs 1001: the building user's ids are recorded (run 1 ran as 1000:1000, run 2 ran as 1001:1001); owner 'alice' vs 'bob': the building user's name is recorded",
          also: ['username'],
        },
      },
      { path: 'kind', differs: ['type'], note: 'file vs dir' },
      { path: 'lib/libz.so', differs: ['target'], likelyCause: { cause: 'unknown', evidence: "link target 'libz.so.1.3' vs 'libz.so.1.3.1'" } },
      { path: 'only-a', differs: ['only-in-a'] },
      { path: 'only-b', differs: ['only-in-b'] },
    ]);
  });

  it('compares mtimes only in strict mode, blaming the build clock when they fall in a window', async () => {
    const a = [file('share/doc', 'd', { mtime: T0 })];
    const b = [file('share/doc', 'd', { mtime: T1 })];
    expect(await diffTrees(a, b, CTX)).toEqual([]);
    expect(await diffTrees(a, b, CTX, { strictMtime: true })).toEqual([
      {
        path: 'share/doc',
        differs: ['mtime'],
        likelyCause: { cause: 'timestamp', evidence: 'mtime 2026-11-21T21:03:11Z vs 2026-11-21T21:05:14Z, both inside the build windows' },
      },
    ]);
  });

  it('reads content when digests are unknown, and bounds the unified diff', async () => {
    const lines = (n: number, tag: string): string => Array.from({ length: n }, (_, i) => `${tag} ${i}`).join('\n');
    const noDigest = (path: string, s: string): FileSide => ({ ...file(path, s), digest: undefined });
    const [e] = await diffTrees([noDigest('log', lines(100, 'a'))], [noDigest('log', lines(100, 'b'))], CTX, { maxDiffLines: 10 });
    expect(e!.differs).toEqual(['content']);
    const diff = e!.unifiedDiff!.split('\n');
    expect(diff.slice(0, 3)).toEqual(['--- a/log', '+++ b/log', '@@ -1,100 +1,100 @@']);
    expect(diff[10]).toBe('… 195 more lines of diff');
    expect(await diffTrees([noDigest('same', 'x')], [noDigest('same', 'x')], CTX)).toEqual([]);
  });
});

describe('diffTrees: archives', () => {
  const info = (t: string): string => `zlib 1.3\nbuilt ${t}\n`;
  const tarA: TarSpec[] = [
    { name: 'usr/', type: 'directory' },
    { name: 'usr/bin/minigzip', content: 'same binary', mtime: new Date(T0 * 1000) },
    { name: 'usr/share/info.txt', content: info('2026-11-21T21:03:11Z'), mtime: new Date(T0 * 1000) },
  ];
  const tarB: TarSpec[] = [
    { name: 'usr/', type: 'directory' },
    { name: 'usr/bin/minigzip', content: 'same binary', mtime: new Date(T1 * 1000) },
    { name: 'usr/share/info.txt', content: info('2026-11-21T21:05:14Z'), mtime: new Date(T1 * 1000) },
  ];

  it('recurses into tar members, comparing their mtimes, and names the member behind the cause', async () => {
    const [e] = await diffTrees([file('dist/zlib.tar', await makeTar(tarA))], [file('dist/zlib.tar', await makeTar(tarB))], CTX);
    expect(e).toMatchObject({
      path: 'dist/zlib.tar',
      differs: ['content'],
      likelyCause: { cause: 'timestamp', evidence: expect.stringMatching(/^usr\/bin\/minigzip: mtime 2026-11-21T21:03:11Z vs/) },
    });
    expect(e!.members!.map((m) => [m.path, m.differs])).toEqual([
      ['usr/bin/minigzip', ['mtime']],
      ['usr/share/info.txt', ['content', 'mtime']],
    ]);
    expect(e!.members![1]!.likelyCause!.evidence).toBe(
      "line 2: 'built 2026-11-21T21:03:11Z' vs 'built 2026-11-21T21:05:14Z', both inside the build windows (ISO 8601)",
    );
    expect(e!.members![1]!.unifiedDiff).toContain('+built 2026-11-21T21:05:14Z');
  });

  it('tar.gz: recurses through gzip; same members in another order is file-order or locale-sort', async () => {
    const names = ['Zlib.h', 'adler32.c'];
    const tar = (order: string[]): Promise<Buffer> => makeTar(order.map((name) => ({ name, content: name })));
    const [byOrder] = await diffTrees([file('src.tgz', gzipSync(await tar(names)))], [file('src.tgz', gzipSync(await tar([...names].reverse())))], CTX);
    expect(byOrder).toMatchObject({ members: [] });
    expect(byOrder!.differs).toContain('content');
    expect(byOrder!.likelyCause).toEqual({
      cause: 'locale-sort',
      evidence:
        "same 2 members in a different order: a is in byte order (LC_ALL=C), b in a locale's order (like en_US.UTF-8) " +
        "(the runs had C vs en_US.UTF-8); first difference at member 1: 'Zlib.h' vs 'adler32.c'",
    });
  });

  it('gzip: the same content with a build-time mtime in the header', async () => {
    const inner = gzipSync(Buffer.from('hello\n'));
    const stamp = (t: number): Buffer => {
      const b = Buffer.from(inner);
      b.writeUInt32LE(t, 4);
      return b;
    };
    const [e] = await diffTrees([file('doc/README.gz', stamp(T0))], [file('doc/README.gz', stamp(T1))], CTX);
    expect(e).toEqual({
      path: 'doc/README.gz',
      differs: ['content'],
      members: [],
      likelyCause: {
        cause: 'timestamp',
        evidence: 'gzip header mtime 1795294991 (2026-11-21T21:03:11Z) vs 1795295114 (2026-11-21T21:05:14Z), both inside the build windows',
        field: 'gzip header mtime',
      },
    });
  });

  it('zip: reads the central directory, stored and deflated members, Unix modes and UT mtimes', async () => {
    const a = makeZip([
      { name: 'META-INF/', mtime: T0 },
      { name: 'META-INF/MANIFEST.MF', content: 'Built-By: alice\nCreated: 2026-11-21T21:03:11Z\n', deflate: true, mtime: T0 },
      { name: 'app.class', content: 'same', mode: 0o644, mtime: 0 },
    ]);
    const b = makeZip([
      { name: 'META-INF/', mtime: T0 },
      { name: 'META-INF/MANIFEST.MF', content: 'Built-By: bob\nCreated: 2026-11-21T21:05:14Z\n', deflate: true, mtime: T0 },
      { name: 'app.class', content: 'same', mode: 0o755, mtime: 0 },
    ]);
    const [e] = await diffTrees([file('app.jar', a)], [file('app.jar', b)], CTX);
    expect(e!.members!.map((m) => [m.path, m.differs, m.likelyCause?.cause])).toEqual([
      ['META-INF/MANIFEST.MF', ['content', 'size'], 'timestamp'],
      ['app.class', ['mode'], 'unknown'],
    ]);
    expect(e!.members![0]!.likelyCause!.evidence).toMatch(/\(also: username\)$/);
    expect(e!.likelyCause!.evidence).toMatch(/^META-INF\/MANIFEST\.MF: line 1:/);
  });

  it('stops at maxDepth with a note, and still gives a cause from the bytes', async () => {
    const [e] = await diffTrees([file('a.tar', await makeTar(tarA))], [file('a.tar', await makeTar(tarB))], CTX, { maxDepth: 0 });
    expect(e!.members).toBeUndefined();
    expect(e!.note).toBe('tar not opened: maxDepth 0 reached');
    expect(e!.likelyCause!.cause).toBe('timestamp');
  });

  it('a malformed archive is compared as bytes, with a note', async () => {
    const broken = (s: string): Buffer => Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.from(s)]);
    const [e] = await diffTrees([file('x.gz', broken('aaaa'))], [file('x.gz', broken('bbbb'))], CTX);
    expect(e!.note).toMatch(/^not opened as an archive: cannot decompress: /);
    expect(e!.likelyCause!.cause).toBe('unknown');
  });
});
