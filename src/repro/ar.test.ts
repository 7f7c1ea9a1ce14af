import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isAr, readAr } from './ar.js';
import type { FileSide } from './types.js';
import { hasTool } from './testing/fixtures.js';

const T0 = 1795294991; // 2026-11-21T21:03:11Z
const HAS_AR = hasTool('ar');
const HAS_GCC = hasTool('gcc');
const LONG = 'a-very-long-member-name.txt';

let dir: string;
/** `ar <flags> lib.a <files…>` in the fixture directory, returning the archive. */
function ar(flags: string, ...files: string[]): Buffer {
  rmSync(join(dir, 'lib.a'), { force: true });
  execFileSync('ar', [flags, 'lib.a', ...files], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  return readFileSync(join(dir, 'lib.a'));
}
const plain = (ms: readonly FileSide[]): Omit<FileSide, 'read' | 'digest'>[] => ms.map(({ read: _r, digest: _d, ...m }) => m);

/**
 * A BSD ar archive by hand (GNU ar does not write them): a 60-byte header per member, name
 * `#1/<len>` with the name first in the data and counted in the size; `__.SYMDEF SORTED`
 * is the symbol table.
 */
function bsdAr(members: { name: string; content: string; mtime: number }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const m of members) {
    const data = Buffer.concat([Buffer.from(m.name), Buffer.from(m.content)]);
    const field = (v: string | number, w: number): string => String(v).padEnd(w, ' ');
    parts.push(Buffer.from(`${field(`#1/${m.name.length}`, 16)}${field(m.mtime, 12)}${field(501, 6)}${field(20, 6)}${field('100644', 8)}${field(data.length, 10)}\`\n`, 'latin1'));
    parts.push(data);
    if (data.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

describe.skipIf(!HAS_AR)('readAr (fixtures made by GNU ar; binutils is not installed)', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-ar-'));
    writeFileSync(join(dir, 'short'), 'x\n');
    writeFileSync(join(dir, LONG), 'hello\n');
    chmodSync(join(dir, 'short'), 0o755);
    chmodSync(join(dir, LONG), 0o640);
    for (const f of ['short', LONG]) utimesSync(join(dir, f), T0, T0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ar rcU keeps real mtimes, owners and modes; GNU long names come from the // table', async () => {
    const buf = ar('rcU', 'short', LONG);
    expect(isAr(buf)).toBe(true);
    expect(buf.includes('//')).toBe(true);
    const { members, symbols } = readAr(buf, 1024);
    const uid = process.getuid!();
    const gid = process.getgid!();
    expect(plain(members)).toEqual([
      { path: 'short', type: 'file', mtime: T0, uid, gid, mode: 0o755, size: 2 },
      { path: LONG, type: 'file', mtime: T0, uid, gid, mode: 0o640, size: 6 },
    ]);
    expect((await members[1]!.read!()).toString()).toBe('hello\n');
    expect(symbols).toBeUndefined();
  });

  it('ar rcD zeroes mtimes and owners and writes mode 0644', () => {
    expect(plain(readAr(ar('rcD', 'short', LONG), 1024).members)).toEqual([
      { path: 'short', type: 'file', mtime: 0, uid: 0, gid: 0, mode: 0o644, size: 2 },
      { path: LONG, type: 'file', mtime: 0, uid: 0, gid: 0, mode: 0o644, size: 6 },
    ]);
  });

  it('a name stored twice stays two members', () => {
    ar('rcD', 'short');
    execFileSync('ar', ['qD', 'lib.a', 'short'], { cwd: dir });
    expect(readAr(readFileSync(join(dir, 'lib.a')), 1024).members.map((m) => m.path)).toEqual(['short', 'short (2)']);
  });

  it.skipIf(!HAS_GCC)('the symbol table (/) is not a member; its bytes and mtime are returned apart', () => {
    writeFileSync(join(dir, 'f.c'), 'int f(void) { return 1; }\n');
    execFileSync('gcc', ['-c', 'f.c', '-o', 'f.o'], { cwd: dir });
    const { members, symbols } = readAr(ar('rcsD', 'f.o', 'short'), 1 << 20);
    expect(members.map((m) => m.path)).toEqual(['f.o', 'short']);
    expect(symbols!.data.includes('f\0')).toBe(true);
    expect(symbols!.mtime).toBe(0);
    const stamped = readAr(ar('rcsU', 'f.o', 'short'), 1 << 20).symbols!;
    expect(stamped.data.equals(symbols!.data)).toBe(true);
    expect(stamped.mtime).toBeGreaterThan(T0 - 86_400 * 365);
  });

  it('BSD names (#1/len, the name before the data) and the __.SYMDEF table', () => {
    const buf = bsdAr([
      { name: '__.SYMDEF SORTED', content: '\0\0\0\0\0\0\0\0', mtime: T0 },
      { name: 'adler32.o', content: 'ADLER', mtime: T0 },
      { name: 'crc32-long-name.o', content: 'CRC', mtime: T0 + 1 },
    ]);
    const { members, symbols } = readAr(buf, 1024);
    expect(plain(members)).toEqual([
      { path: 'adler32.o', type: 'file', mtime: T0, uid: 501, gid: 20, mode: 0o644, size: 5 },
      { path: 'crc32-long-name.o', type: 'file', mtime: T0 + 1, uid: 501, gid: 20, mode: 0o644, size: 3 },
    ]);
    expect(symbols).toEqual({ data: Buffer.alloc(8), mtime: T0 });
  });

  it('malformed archives give an Error with a readable message, never a read past the end', () => {
    const buf = ar('rcU', 'short', LONG);
    // ar has no trailer: a cut between members is a shorter archive, any other cut an Error
    const whole: number[] = [];
    for (let cut = 0; cut < buf.length; cut++) {
      try {
        readAr(buf.subarray(0, cut), 1024);
        whole.push(cut);
      } catch (e) {
        expect(e, `cut at ${cut}`).not.toBeInstanceOf(RangeError);
        expect((e as Error).message, `cut at ${cut}`).toMatch(cut < 8 ? /^not an ar archive/ : /^ar member \d+ at offset \d+: /);
      }
    }
    expect(whole).toEqual([8, 98, 160]);
    const bad = (edit: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(buf);
      edit(b);
      return b;
    };
    // the // name table's header is at 8 and its 30 bytes at 68; short's header at 98, the long name's at 160
    expect(() => readAr(bad((b) => b.write('xx', 8 + 58, 'latin1')), 1024)).toThrow('ar member 0 at offset 8: header does not end in `\\n (not an ar member)');
    expect(() => readAr(bad((b) => b.write('9999999999', 8 + 48, 'latin1')), 1024)).toThrow(/^ar member 0 at offset 8: truncated \(9999999999 bytes declared, \d+ present\)$/);
    expect(() => readAr(bad((b) => b.write('3x', 8 + 48, 'latin1')), 1024)).toThrow('ar member 0 at offset 8: size "3x" is not a decimal number');
    expect(() => readAr(bad((b) => b.write('/99', 160, 'latin1')), 1024)).toThrow(
      'ar member 2 at offset 160: long name offset 99 lies outside the 30-byte name table',
    );
    expect(() => readAr(bad((b) => b.write('8', 160 + 40, 'latin1')), 1024)).toThrow(/^ar member 2 at offset 160: mode "8\d*" is not an octal number$/);
    expect(() => readAr(buf, 1)).toThrow('ar member "short": 2 bytes, more than the 1 compared');
    expect(() => readAr(buf, 5)).toThrow(`ar member "${LONG}": 6 bytes, more than the 5 compared`);
    expect(() => readAr(Buffer.from('!<thin>\n'), 1024)).toThrow('thin ar archives are not supported');
    const bsd = bsdAr([{ name: 'adler32.o', content: 'ADLER', mtime: T0 }]);
    bsd.write('#1/50', 8, 'latin1');
    expect(() => readAr(bsd, 1024)).toThrow('ar member 0 at offset 8: BSD name length 50 exceeds the member size 14');
  });
});
