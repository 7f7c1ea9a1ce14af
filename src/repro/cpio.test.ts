import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isCpio, readCpio } from './cpio.js';
import type { FileSide } from './types.js';
import { hasTool } from './testing/fixtures.js';

const T0 = 1795294991; // 2026-11-21T21:03:11Z
const HAS_CPIO = hasTool('cpio');

let root: string;
/** `find . | sort | cpio -o -H <format> -R 123:456` of a small tree: a dir, files, a hard link and a symlink. */
const archive = (format: 'newc' | 'crc' | 'odc'): Buffer =>
  execFileSync('cpio', ['-o', '--quiet', '-H', format, '-R', '123:456'], { cwd: root, input: '.\nd\nd/f\nd/g\nd/l\nd/x\n' });

/** Members without their functions, for comparing. */
const plain = (ms: readonly FileSide[]): Omit<FileSide, 'read' | 'digest'>[] => ms.map(({ read: _r, digest: _d, ...m }) => m);

describe.skipIf(!HAS_CPIO)('readCpio (fixtures made by GNU cpio; it is not installed)', () => {
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'airlock-cpio-'));
    mkdirSync(join(root, 'd'));
    writeFileSync(join(root, 'd/f'), 'hi\n');
    linkSync(join(root, 'd/f'), join(root, 'd/g'));
    symlinkSync('f', join(root, 'd/l'));
    writeFileSync(join(root, 'd/x'), 'secret');
    chmodSync(join(root, 'd/x'), 0o600);
    chmodSync(join(root, 'd/f'), 0o644);
    chmodSync(join(root, 'd'), 0o755);
    chmodSync(root, 0o755);
    for (const p of ['d/f', 'd/x', 'd', '.']) utimesSync(join(root, p), T0, T0);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const linkTime = (): number => Math.floor(lstatSync(join(root, 'd/l')).mtimeMs / 1000);
  const common = { uid: 123, gid: 456 };

  it('newc: types, permission bits, owners, mtimes, content and symlink targets; a hard link points at the member holding the data', () => {
    const buf = archive('newc');
    expect(buf.toString('latin1', 0, 6)).toBe('070701');
    expect(isCpio(buf)).toBe(true);
    const { format, members, inodes } = readCpio(buf, 1024);
    expect(format).toBe('newc');
    // newc stores a hard-linked file's data once, with its last link: d/g
    expect(plain(members)).toEqual([
      { path: '.', type: 'dir', mode: 0o755, ...common, mtime: T0 },
      { path: 'd', type: 'dir', mode: 0o755, ...common, mtime: T0 },
      { path: 'd/f', type: 'hardlink', mode: 0o644, ...common, mtime: T0, target: 'd/g' },
      { path: 'd/g', type: 'file', mode: 0o644, ...common, mtime: T0, size: 3 },
      { path: 'd/l', type: 'symlink', mode: 0o777, ...common, mtime: linkTime(), target: 'f' },
      { path: 'd/x', type: 'file', mode: 0o600, ...common, mtime: T0, size: 6 },
    ]);
    expect(inodes).toHaveLength(6);
    expect(inodes[2]).toBe(inodes[3]);
  });

  it('crc (070702) reads like newc; odc (070707, octal) repeats hard-linked data, so the first link holds it', async () => {
    const crc = readCpio(archive('crc'), 1024);
    expect(crc.format).toBe('crc');
    expect(plain(crc.members)).toEqual(plain(readCpio(archive('newc'), 1024).members));

    const odc = readCpio(archive('odc'), 1024);
    expect(odc.format).toBe('odc');
    expect(plain(odc.members).map((m) => [m.path, m.type, m.target, m.mode, m.uid, m.gid, m.mtime])).toEqual([
      ['.', 'dir', undefined, 0o755, 123, 456, T0],
      ['d', 'dir', undefined, 0o755, 123, 456, T0],
      ['d/f', 'file', undefined, 0o644, 123, 456, T0],
      ['d/g', 'hardlink', 'd/f', 0o644, 123, 456, T0],
      ['d/l', 'symlink', 'f', 0o777, 123, 456, linkTime()],
      ['d/x', 'file', undefined, 0o600, 123, 456, T0],
    ]);
    expect((await odc.members[5]!.read!()).toString()).toBe('secret');
    expect((await odc.members[2]!.read!()).toString()).toBe('hi\n');
  });

  it('every truncation before the trailer is an Error naming the member, never a read past the end', () => {
    for (const format of ['newc', 'odc'] as const) {
      const buf = archive(format);
      const end = buf.indexOf('TRAILER!!!') + 'TRAILER!!!'.length;
      for (let cut = 0; cut < end; cut++) {
        expect(() => readCpio(buf.subarray(0, cut), 1024), `${format} cut at ${cut}`).toThrow(/^cpio member \d+ at offset \d+: |^cpio member "/);
      }
      expect(readCpio(buf.subarray(0, end + 1), 1024).members).toHaveLength(6);
    }
  });

  it('refuses bad digits, absurd sizes and members larger than maxBytes, with a message', () => {
    const newc = archive('newc');
    const badHex = Buffer.from(newc);
    badHex.write('0020C12G', 6, 'latin1');
    expect(() => readCpio(badHex, 1024)).toThrow('cpio member 0 at offset 0: ino "0020C12G" is not a hex number');

    // the third member (d/f) starts at 0xe0; its filesize is field 6, at 6 + 6 * 8
    const huge = Buffer.from(newc);
    expect(huge.toString('latin1', 0xe0 + 110, 0xe0 + 113)).toBe('d/f');
    huge.write('FFFFFFFF', 0xe0 + 54, 'latin1');
    expect(() => readCpio(huge, 2 ** 40)).toThrow(/^cpio member "d\/f": truncated \(4294967295 bytes declared, \d+ present\)$/);

    const longName = Buffer.from(newc);
    longName.write('00100000', 0xe0 + 94, 'latin1'); // namesize
    expect(() => readCpio(longName, 1024)).toThrow('cpio member 2 at offset 224: name size 1048576 is out of range');

    expect(() => readCpio(newc, 5)).toThrow('cpio member "d/x": 6 bytes, more than the 5 compared');

    const odc = Buffer.from(archive('odc'));
    odc.write('9', 18, 'latin1'); // mode
    expect(() => readCpio(odc, 1024)).toThrow(/^cpio member 0 at offset 0: mode "9\d{5}" is not an octal number$/);

    expect(() => readCpio(Buffer.from('070701xyz'), 1024)).toThrow('cpio member 0 at offset 0: truncated in its header');
    expect(() => readCpio(Buffer.concat([newc.subarray(0, 0x70), Buffer.from('garbage!')]), 1024)).toThrow(
      'cpio member 1 at offset 112: bad magic "garbag"',
    );
  });
});
