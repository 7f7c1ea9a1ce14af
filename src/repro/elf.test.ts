import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildIdOf, differingSections, isElf, readElf, readNotes, sectionContent, SHT_NOBITS, SHT_NOTE, type ElfFile } from './elf.js';
import { hasTool } from './testing/fixtures.js';

const HAS_GCC = hasTool('gcc');

interface SectionSpec {
  name: string;
  type?: number;
  data?: Buffer;
  /** for NOBITS */
  size?: number;
  flags?: number;
  addralign?: number;
}

/**
 * An ELF file by hand, for the classes and byte orders gcc here does not make. Layout: the
 * ELF header (52 bytes for ELF32, 64 for ELF64), the sections' bytes one after another, the
 * section-name table, then the section header table (40 or 64 bytes per entry): the null
 * section 0, the given sections, and .shstrtab last (e_shstrndx).
 */
function makeElf(bits: 32 | 64, endian: 'LE' | 'BE', sections: readonly SectionSpec[]): Buffer {
  const le = endian === 'LE';
  const ehsize = bits === 64 ? 64 : 52;
  const shentsize = bits === 64 ? 64 : 40;
  const names = [...sections.map((s) => s.name), '.shstrtab'];
  const nameOffsets: number[] = [];
  let strtab = Buffer.from([0]);
  for (const n of names) {
    nameOffsets.push(strtab.length);
    strtab = Buffer.concat([strtab, Buffer.from(`${n}\0`)]);
  }
  const all: SectionSpec[] = [...sections, { name: '.shstrtab', type: 3, data: strtab }];
  const bodies: Buffer[] = [];
  const offsets: number[] = [];
  let p = ehsize;
  for (const s of all) {
    offsets.push(p);
    const data = s.type === SHT_NOBITS ? Buffer.alloc(0) : (s.data ?? Buffer.alloc(0));
    bodies.push(data);
    p += data.length;
  }
  const shoff = Math.ceil(p / 8) * 8;
  const out = Buffer.alloc(shoff + shentsize * (all.length + 1));
  const u16 = (v: number, at: number): number => (le ? out.writeUInt16LE(v, at) : out.writeUInt16BE(v, at));
  const u32 = (v: number, at: number): number => (le ? out.writeUInt32LE(v, at) : out.writeUInt32BE(v, at));
  const word = (v: number, at: number): number => (bits === 32 ? u32(v, at) : le ? out.writeBigUInt64LE(BigInt(v), at) : out.writeBigUInt64BE(BigInt(v), at));
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, bits === 64 ? 2 : 1, le ? 1 : 2, 1]).copy(out);
  u16(1, 16); // ET_REL
  u16(bits === 64 ? 0x2b : 0x14, 18); // SPARC V9 / PowerPC, both big-endian machines
  u32(1, 20);
  word(shoff, bits === 64 ? 0x28 : 0x20);
  u16(ehsize, bits === 64 ? 0x34 : 0x28);
  u16(shentsize, bits === 64 ? 0x3a : 0x2e);
  u16(all.length + 1, bits === 64 ? 0x3c : 0x30);
  u16(all.length, bits === 64 ? 0x3e : 0x32);
  let at = ehsize;
  for (const b of bodies) at += b.copy(out, at);
  const w = bits === 64 ? 8 : 4;
  all.forEach((s, i) => {
    const h = shoff + shentsize * (i + 1);
    u32(nameOffsets[i]!, h);
    u32(s.type ?? 1, h + 4);
    word(s.flags ?? 0, h + 8);
    word(offsets[i]!, h + 8 + 2 * w);
    word(s.type === SHT_NOBITS ? (s.size ?? 0) : bodies[i]!.length, h + 8 + 3 * w);
    word(s.addralign ?? 1, h + 16 + 4 * w);
  });
  return out;
}

/** A GNU build-id note: namesz 4, descsz, type 3, "GNU\0", the id. */
function buildIdNote(endian: 'LE' | 'BE', id: Buffer): Buffer {
  const head = Buffer.alloc(12);
  const u32 = (v: number, at: number): number => (endian === 'LE' ? head.writeUInt32LE(v, at) : head.writeUInt32BE(v, at));
  u32(4, 0);
  u32(id.length, 4);
  u32(3, 8);
  return Buffer.concat([head, Buffer.from('GNU\0'), id]);
}

const summary = (f: ElfFile): [string, number, string][] => f.sections.map((s) => [s.name, s.type, s.data.toString('latin1')]);

describe('readElf: hand-made files in every class and byte order', () => {
  for (const [bits, endian] of [[32, 'LE'], [32, 'BE'], [64, 'BE'], [64, 'LE']] as const) {
    it(`ELF${bits} ${endian}: section names, types and bytes; NOBITS has none; the build-id note`, () => {
      const id = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');
      const buf = makeElf(bits, endian, [
        { name: '.text', data: Buffer.from('\x90\x90\xc3', 'latin1') },
        { name: '.rodata', data: Buffer.from('Dec  2 2026\0') },
        { name: '.bss', type: SHT_NOBITS, size: 4096 },
        { name: '.note.gnu.build-id', type: SHT_NOTE, data: buildIdNote(endian, id), addralign: 4 },
      ]);
      expect(isElf(buf)).toBe(true);
      const elf = readElf(buf);
      expect([elf.bits, elf.endian, elf.type]).toEqual([bits, endian, 1]);
      expect(summary(elf)).toEqual([
        ['.text', 1, '\x90\x90\xc3'],
        ['.rodata', 1, 'Dec  2 2026\0'],
        ['.bss', SHT_NOBITS, ''],
        ['.note.gnu.build-id', SHT_NOTE, buildIdNote(endian, id).toString('latin1')],
        ['.shstrtab', 3, '\0.text\0.rodata\0.bss\0.note.gnu.build-id\0.shstrtab\0'],
      ]);
      expect(elf.sections[2]!.size).toBe(4096);
      expect(buildIdOf(elf.sections[3]!, endian)).toBe(id.toString('hex'));
      expect(buildIdOf(elf.sections[1]!, endian)).toBeUndefined();
    });
  }

  it('pairs sections by name (the k-th of a name with the k-th), and names those on one side only', () => {
    const a = readElf(makeElf(64, 'LE', [{ name: '.text', data: Buffer.from('aa') }, { name: '.text', data: Buffer.from('bb') }, { name: '.comment', data: Buffer.from('GCC') }]));
    const b = readElf(makeElf(64, 'LE', [{ name: '.text', data: Buffer.from('aa') }, { name: '.text', data: Buffer.from('bc') }, { name: '.data', data: Buffer.from('x') }]));
    expect(differingSections(a, b).map((p) => [p.name, p.a?.index, p.b?.index])).toEqual([
      ['.text', 2, 2],
      ['.comment', 3, undefined],
      ['.shstrtab', 4, 4],
      ['.data', undefined, 3],
    ]);
    expect(differingSections(a, a)).toEqual([]);
  });

  it('a file without a section table has no sections', () => {
    const bare = Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0', 'latin1'), Buffer.alloc(64)]);
    expect(readElf(bare).sections).toEqual([]);
  });

  it('malformed files give an Error with a readable message, never a read past the end', () => {
    const good = makeElf(64, 'BE', [{ name: '.text', data: Buffer.from('code') }]);
    for (let cut = 0; cut < good.length; cut++) {
      let err: unknown;
      try {
        readElf(good.subarray(0, cut));
      } catch (e) {
        err = e;
      }
      expect(err, `cut at ${cut}`).toBeInstanceOf(Error);
      expect(err, `cut at ${cut}`).not.toBeInstanceOf(RangeError);
      expect((err as Error).message, `cut at ${cut}`).toMatch(/^ELF |^not an ELF file/);
    }
    const edit = (f: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(good);
      f(b);
      return b;
    };
    const shoff = Number(good.readBigUInt64BE(0x28));
    expect(() => readElf(edit((b) => (b[4] = 3)))).toThrow('ELF class 3 is neither 1 (32-bit) nor 2 (64-bit)');
    expect(() => readElf(edit((b) => (b[5] = 0)))).toThrow('ELF data encoding 0 is neither 1 (little endian) nor 2 (big endian)');
    expect(() => readElf(edit((b) => b.writeUInt16BE(10, 0x3a)))).toThrow('ELF section header size 10 is smaller than 64');
    expect(() => readElf(edit((b) => b.writeUInt16BE(0xfeff, 0x3c)))).toThrow(/^ELF section header table \(65279 × 64 bytes at offset \d+\) lies outside the \d+-byte file$/);
    expect(() => readElf(edit((b) => b.writeBigUInt64BE(2n ** 60n, 0x28)))).toThrow('ELF header 0x1000000000000000 is out of range');
    expect(() => readElf(edit((b) => b.writeUInt16BE(9, 0x3e)))).toThrow('ELF section-name table index 9 is not among the 3 sections');
    // section 1 (.text): name offset at +0, file offset at +24
    expect(() => readElf(edit((b) => b.writeUInt32BE(5000, shoff + 64)))).toThrow('ELF section 1: name offset 5000 lies outside the 17-byte section-name table');
    expect(() => readElf(edit((b) => b.writeBigUInt64BE(1n << 40n, shoff + 64 + 24)))).toThrow(
      /^ELF section 1 \(4 bytes at offset 1099511627776\) lies outside the \d+-byte file$/,
    );
  });

  it('notes that do not fit are dropped quietly', () => {
    const elf = readElf(makeElf(32, 'LE', [{ name: '.note.x', type: SHT_NOTE, data: Buffer.from([4, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 3, 0, 0, 0, 0x47, 0x4e, 0x55, 0]) }]));
    expect(readNotes(elf.sections[0]!, 'LE')).toEqual([]);
    expect(buildIdOf(elf.sections[0]!, 'LE')).toBeUndefined();
  });
});

describe.skipIf(!HAS_GCC)('readElf: files gcc made (gcc is not installed)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-elf-'));
    writeFileSync(join(dir, 'hello.c'), '#include <stdio.h>\nstatic int counter;\nint main(void) { puts("hello"); return counter; }\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const gcc = (...args: string[]): Buffer => {
    const out = join(dir, 'out');
    execFileSync('gcc', [...args, 'hello.c', '-o', out], { cwd: dir });
    return readFileSync(out);
  };

  it('the same sections, offsets and sizes as readelf -S; the build-id readelf -n shows', () => {
    const buf = gcc('-g', '-O1');
    const readelf = execFileSync('readelf', ['-S', '-W', join(dir, 'out')], { encoding: 'utf8' });
    const expected = [...readelf.matchAll(/^\s*\[\s*(\d+)\] (\S+)\s+(\S+)\s+[0-9a-f]+ ([0-9a-f]+) ([0-9a-f]+)/gm)]
      .filter((m) => m[1] !== '0')
      .map((m) => [m[2], parseInt(m[4]!, 16), parseInt(m[5]!, 16)]);
    const elf = readElf(buf);
    expect(elf).toMatchObject({ bits: 64, endian: 'LE' });
    expect(elf.sections.map((s) => [s.name, s.offset, s.size])).toEqual(expected);
    expect(elf.sections.map((s) => s.name)).toEqual(expect.arrayContaining(['.text', '.rodata', '.bss', '.comment', '.debug_info', '.debug_line_str']));
    const notes = execFileSync('readelf', ['-n', join(dir, 'out')], { encoding: 'utf8' });
    const id = /Build ID: ([0-9a-f]+)/.exec(notes)?.[1];
    expect(id).toBeDefined();
    expect(buildIdOf(elf.sections.find((s) => s.name === '.note.gnu.build-id')!, 'LE')).toBe(id);
  });

  it('inflates zlib-compressed debug sections (-gz), within a bound', () => {
    const elf = readElf(gcc('-g', '-gz=zlib', '-c'));
    const str = elf.sections.find((s) => s.name === '.debug_str')!;
    expect(str.flags & 0x800).toBe(0x800);
    expect(str.data.includes('GNU C')).toBe(false);
    expect(sectionContent(elf, str, 1 << 20).includes('GNU C')).toBe(true);
    expect(() => sectionContent(elf, str, 16)).toThrow(/^\.debug_str: \d+ bytes uncompressed, more than the 16 compared$/);
  });

  it('every truncation of a real object is a readable Error', () => {
    const buf = gcc('-c');
    for (let cut = 0; cut < buf.length; cut += 7) {
      expect(() => readElf(buf.subarray(0, cut)), `cut at ${cut}`).toThrow(/^ELF |^not an ELF file/);
    }
  });
});
