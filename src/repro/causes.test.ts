import { describe, expect, it } from 'vitest';

import { CTX, file } from './testing/fixtures.js';
import { diffTrees } from './tree.js';
import type { DiffContext, LikelyCause, RunFacts } from './types.js';

/** The likely cause diffTrees gives for one file built twice. */
async function causeOf(a: string | Buffer, b: string | Buffer, path = 'out/file'): Promise<LikelyCause | undefined> {
  const entries = await diffTrees([file(path, a)], [file(path, b)], CTX);
  expect(entries).toHaveLength(1);
  expect(entries[0]!.differs).toContain('content');
  return entries[0]!.likelyCause;
}

describe('likely causes', () => {
  it('timestamp: an ISO 8601 time inside the build windows', async () => {
    const info = (t: string): string => `name: zlib\nversion: 1.3\nbuilt at ${t}\nlicense: Zlib\n`;
    expect(await causeOf(info('2026-11-21T21:03:11Z'), info('2026-11-21T21:05:14Z'))).toEqual({
      cause: 'timestamp',
      evidence: "line 3: 'built at 2026-11-21T21:03:11Z' vs 'built at 2026-11-21T21:05:14Z', both inside the build windows (ISO 8601)",
    });
  });

  it('timestamp: date(1) output, epoch seconds, and zone-less local time in the run zone', async () => {
    const dateOut = await causeOf('# generated Sat Nov 21 21:03:11 UTC 2026\n', '# generated Sat Nov 21 21:05:14 UTC 2026\n');
    expect(dateOut).toMatchObject({ cause: 'timestamp' });
    expect(dateOut!.evidence).toContain('(date(1))');
    const epoch = await causeOf('window.BUILD_TIME = 1795294991;\n', 'window.BUILD_TIME = 1795295114;\n');
    expect(epoch!.evidence).toBe(
      "line 1: 'window.BUILD_TIME = 1795294991;' vs 'window.BUILD_TIME = 1795295114;', both inside the build windows (epoch seconds)",
    );
    // run 2 ran in Europe/Berlin: 21:05:14Z is 22:05:14 on its wall clock
    const compact = await causeOf('VERSION=1.3-20261121210311\n', 'VERSION=1.3-20261121220514\n');
    expect(compact).toMatchObject({ cause: 'timestamp' });
    expect(compact!.evidence).toContain('both inside the build windows (YYYYMMDDHHMMSS)');
    const rfc = await causeOf('Date: Sat, 21 Nov 2026 21:03:11 +0000\n', 'Date: Sat, 21 Nov 2026 22:05:14 +0100\n');
    expect(rfc!.evidence).toContain('(RFC 2822)');
  });

  it('timestamp: __DATE__ and __TIME__ inside a binary', async () => {
    const elf = (time: string): Buffer =>
      Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0', 'latin1'), Buffer.alloc(64, 0), Buffer.from(`zlib 1.3\0Nov 21 2026\0${time}\0`), Buffer.alloc(32, 0)]);
    const cause = await causeOf(elf('21:03:11'), elf('21:05:14'), 'usr/lib/libz.so.1');
    expect(cause).toEqual({ cause: 'timestamp', evidence: "offset 0x69: '21:03:11' vs '21:05:14', both inside the build windows (__DATE__/__TIME__)" });
  });

  it('timestamp: epoch seconds stored as a 32-bit integer', async () => {
    const blob = (t: number): Buffer => {
      const b = Buffer.alloc(64, 0xaa);
      b.writeUInt32LE(t, 20);
      return b;
    };
    expect(await causeOf(blob(1795294991), blob(1795295114))).toEqual({
      cause: 'timestamp',
      evidence: 'offset 0x14: 32-bit LE 1795294991 (2026-11-21T21:03:11Z) vs 1795295114 (2026-11-21T21:05:14Z), both inside the build windows',
    });
  });

  it('a time outside the windows is not blamed on the build clock', async () => {
    const cause = await causeOf('built at 2020-01-01T00:00:00Z\n', 'built at 2020-01-02T00:00:00Z\n');
    expect(cause!.cause).toBe('unknown');
  });

  it('hostname: the machine name embedded', async () => {
    expect(await causeOf('compiled on builder-a7 by CI\n', 'compiled on builder-b2 by CI\n')).toEqual({
      cause: 'hostname',
      evidence: "line 1: 'compiled on builder-a7 by CI' vs 'compiled on builder-b2 by CI'; 'builder-a7' is the hostname of run 1, 'builder-b2' is the hostname of run 2",
    });
  });

  it('build-path: the build directory embedded (ahead of the user name in it)', async () => {
    const cause = await causeOf('#define SRCDIR "/tmp/airlock-build-3f9c1/src"\n', '#define SRCDIR "/tmp/airlock-build-77e0d/src"\n');
    expect(cause).toMatchObject({ cause: 'build-path' });
    expect(cause!.evidence).toContain("'/tmp/airlock-build-3f9c1' is the build path of run 1");
  });

  it('username: the building user embedded', async () => {
    expect(await causeOf('Packaged-By: alice\n', 'Packaged-By: bob\n')).toEqual({
      cause: 'username',
      evidence: "line 1: 'Packaged-By: alice' vs 'Packaged-By: bob'; 'alice' is the user name of run 1, 'bob' is the user name of run 2",
    });
  });

  it('several causes on one line: the strongest first, the others named', async () => {
    const cause = await causeOf('built by alice@builder-a7 at 2026-11-21T21:03:11Z\n', 'built by bob@builder-b2 at 2026-11-21T21:05:14Z\n');
    expect(cause!.cause).toBe('timestamp');
    expect(cause!.evidence).toMatch(/\(also: hostname, username\)$/);
  });

  it('random: fresh hex, UUIDs or base64 of the same length', async () => {
    const hex = await causeOf('session_key = 9f86d081884c7d659a2feaa0c55ad015\n', 'session_key = 3a7bd3e2360a3d29eea436fcfb7e44c7\n');
    expect(hex).toEqual({
      cause: 'random',
      evidence:
        "line 1: 'session_key = 9f86d081884c7d659a2feaa0c55ad015' vs 'session_key = 3a7bd3e2360a3d29eea436fcfb7e44c7'; " +
        "'9f86d081884c7d659a2feaa0c55ad015' and '3a7bd3e2360a3d29eea436fcfb7e44c7' look random (hex, 32 chars): a UUID, nonce, key or hash seed made per build",
    });
    const uuid = await causeOf('{"build":"6f1c3e0a-5b2d-4c9e-8a71-2d4f5e6a7b8c"}', '{"build":"0b9e8d7c-1a2b-4c3d-9e8f-7a6b5c4d3e2f"}');
    expect(uuid!.evidence).toContain('(UUID, 36 chars)');
    const b64 = await causeOf('nonce: Zm9vYmFyQmF6MTIzNDU2Nzg5MA==\n', 'nonce: Q3J5cHRvR3JhcGhpY1JhbmQ0Mg==\n');
    expect(b64!.cause).toBe('random');
  });

  it('locale-sort: the same list sorted under LC_ALL=C and under en_US.UTF-8', async () => {
    // `LC_ALL=C sort` and glibc's `LC_ALL=en_US.UTF-8 sort` of the same file names
    const cSort = ['Beta.c', 'Makefile', 'README', '_config.h', 'adler32.c', 'alpha.c', 'z_util.c', 'zlib.h'];
    const enUS = ['adler32.c', 'alpha.c', 'Beta.c', '_config.h', 'Makefile', 'README', 'zlib.h', 'z_util.c'];
    expect(await causeOf(`${cSort.join('\n')}\n`, `${enUS.join('\n')}\n`, 'share/MANIFEST')).toEqual({
      cause: 'locale-sort',
      evidence:
        "same 8 lines in a different order: a is in byte order (LC_ALL=C), b in a locale's order (like en_US.UTF-8) " +
        "(the runs had C vs en_US.UTF-8); first difference at line 1: 'Beta.c' vs 'adler32.c'",
    });
  });

  it('file-order: the same lines, not sorted at all', async () => {
    const cause = await causeOf('inflate.o\nadler32.o\ncrc32.o\n', 'crc32.o\ninflate.o\nadler32.o\n');
    expect(cause).toEqual({
      cause: 'file-order',
      evidence: "same 3 lines in a different order, neither side is sorted (directory listing or hash order?); first difference at line 1: 'inflate.o' vs 'crc32.o'",
    });
  });

  it('unknown: quotes the first differing line', async () => {
    expect(await causeOf('optimize = 2\n', 'optimize = 3\n')).toEqual({ cause: 'unknown', evidence: "line 1: 'optimize = 2' vs 'optimize = 3'" });
  });
});

describe('causes from the values each run was given', () => {
  /** CTX's runs with some facts replaced: run 1 (side a) and run 2 (side b). */
  const withFacts = (a: Partial<RunFacts>, b: Partial<RunFacts>): DiffContext => ({ runs: [{ ...CTX.runs[0]!, ...a }, { ...CTX.runs[1]!, ...b }] });
  async function cause(ctx: DiffContext, x: string, y: string): Promise<LikelyCause | undefined> {
    const [e] = await diffTrees([file('out/f', x)], [file('out/f', y)], ctx);
    return e!.likelyCause;
  }

  it('timezone: the UTC offset date(1) prints under each run’s TZ', async () => {
    const ctx = withFacts({ tz: 'UTC', tzValue: '' }, { tz: 'Etc/GMT-14', tzValue: '<+14>-14' });
    expect(await cause(ctx, '+0000\n', '+1400\n')).toEqual({
      cause: 'timezone',
      evidence: "line 1: '+0000' vs '+1400'; '+0000' is the time zone of run 1, '+1400' is the time zone of run 2",
    });
    expect((await cause(ctx, 'zone UTC\n', 'zone +14\n'))!.cause).toBe('timezone');
  });

  it('locale: the locale run 2 was given, printed', async () => {
    const ctx = withFacts({ locale: '' }, { locale: 'en_US.UTF-8' });
    expect(await cause(ctx, 'lang=unset\n', 'lang=en_US.UTF-8\n')).toMatchObject({ cause: 'locale', evidence: expect.stringContaining("'en_US.UTF-8' is the locale of run 2") });
  });

  it('umask, uid/gid and CPU count: bare numbers count only when each side shows its own run’s value', async () => {
    expect((await cause(withFacts({ umask: '0022' }, { umask: '0077' }), '0022\n', '0077\n'))!.cause).toBe('umask');
    expect((await cause(withFacts({ uid: 65534, gid: 65534 }, { uid: 12345, gid: 12345 }), 'uid=65534\n', 'uid=12345\n'))!.cause).toBe('uid-gid');
    const cpus = withFacts({ cpus: 2 }, { cpus: 1 });
    expect((await cause(cpus, 'jobs 2\n', 'jobs 1\n'))!.cause).toBe('cpu-count');
    // a 2 that becomes a 3 is not the CPU count of run 2
    expect((await cause(cpus, 'version 2\n', 'version 3\n'))!.cause).toBe('unknown');
  });

  it('address: mappings and pointers placed by ASLR', async () => {
    const c = await cause(CTX, '7ffd1efe8000-7ffd1f009000 rw-p [stack]\n', '7ffc148ce000-7ffc148ef000 rw-p [stack]\n');
    expect(c!.cause).toBe('address');
    expect((await cause(CTX, 'ptr=0x55d0c2a1b2a0\n', 'ptr=0x5611e3f4c2a0\n'))!.cause).toBe('address');
  });

  it('env-order: the same NAME=value entries in another order', async () => {
    const ctx = withFacts({ envReversed: false }, { envReversed: true });
    expect(await cause(ctx, 'A=1\nB=2\nC=3\n', 'C=3\nB=2\nA=1\n')).toEqual({
      cause: 'env-order',
      evidence: "same 3 lines in a different order, every one a NAME=value environment entry (run 2 passed its environment in reverse order); first difference at line 1: 'A=1' vs 'C=3'",
    });
  });

  it('random: two paths that differ in one name are not random values', async () => {
    const c = await cause(CTX, 'dir /tmp/build-Ucc5JcQ2/lib-a1\n', 'dir /tmp/build-Ucc5JcQ2/lib-b2\n');
    expect(c!.cause).toBe('unknown');
  });
});

describe('metadata causes', () => {
  const withFacts = (a: Partial<RunFacts>, b: Partial<RunFacts>): DiffContext => ({ runs: [{ ...CTX.runs[0]!, ...a }, { ...CTX.runs[1]!, ...b }] });

  it('a mode that is one base mode under the two runs’ umasks is the umask', async () => {
    const ctx = withFacts({ umask: '0022' }, { umask: '0077' });
    const [e] = await diffTrees([file('f', 'x', { mode: 0o644 })], [file('f', 'x', { mode: 0o600 })], ctx);
    expect(e!.likelyCause).toEqual({ cause: 'umask', evidence: "mode 0644 vs 0600: 0644 masked by run 1's umask 0022 and run 2's 0077" });
    // the same modes under equal umasks are not
    const [same] = await diffTrees([file('f', 'x', { mode: 0o644 })], [file('f', 'x', { mode: 0o600 })], CTX);
    expect(same!.likelyCause!.cause).toBe('unknown');
  });

  it('an owner that is the building uid, with every other metadata cause named beside it', async () => {
    const ctx = withFacts({ uid: 65534, gid: 65534, umask: '0022' }, { uid: 12345, gid: 12345, umask: '0077' });
    const [e] = await diffTrees([file('f', 'x', { mode: 0o644, uid: 65534, gid: 65534 })], [file('f', 'x', { mode: 0o600, uid: 12345, gid: 12345 })], ctx);
    expect(e!.likelyCause!.cause).toBe('uid-gid');
    expect(e!.likelyCause!.also).toEqual(['umask']);
    expect(e!.likelyCause!.evidence).toContain('uid 65534 vs 12345, gid 65534 vs 12345');
  });
});
