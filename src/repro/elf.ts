import { inflateSync } from 'node:zlib';

/**
 * A bounded reader for ELF section headers (32- and 64-bit, either byte order), for comparing
 * two builds section by section. Only what is needed to name and slice sections is read;
 * every offset and count from the file is checked against its length before use, so a
 * malformed file gives an Error with a readable message, never a read past the buffer.
 */

export interface ElfSection {
  index: number;
  /** from the section-name string table; `[<index>]` when the file has none */
  name: string;
  /** SHT_*: 7 is a note, 8 (NOBITS, like .bss) has no bytes in the file */
  type: number;
  flags: number;
  offset: number;
  size: number;
  addralign: number;
  /** the section's bytes in the file (a view); empty for NOBITS */
  data: Buffer;
}

export interface ElfFile {
  bits: 32 | 64;
  endian: 'LE' | 'BE';
  /** ET_*: 1 relocatable, 2 executable, 3 shared object or PIE */
  type: number;
  machine: number;
  /** in header order, without the null section 0 */
  sections: ElfSection[];
}

export interface ElfNote {
  name: string;
  type: number;
  desc: Buffer;
}

export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
const SHF_COMPRESSED = 0x800;
const NT_GNU_BUILD_ID = 3;
const SHN_XINDEX = 0xffff;

export function isElf(buf: Buffer): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

/** A little reader over the file that refuses to leave it. */
class Reader {
  constructor(
    readonly buf: Buffer,
    readonly bits: 32 | 64,
    readonly le: boolean,
  ) {}

  u16(off: number, what: string): number {
    this.check(off, 2, what);
    return this.le ? this.buf.readUInt16LE(off) : this.buf.readUInt16BE(off);
  }

  u32(off: number, what: string): number {
    this.check(off, 4, what);
    return this.le ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off);
  }

  /** a 32-bit field in ELF32, 64-bit in ELF64 (addresses, offsets, sizes) */
  word(off: number, what: string): number {
    if (this.bits === 32) return this.u32(off, what);
    this.check(off, 8, what);
    const v = this.le ? this.buf.readBigUInt64LE(off) : this.buf.readBigUInt64BE(off);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`ELF ${what} 0x${v.toString(16)} is out of range`);
    return Number(v);
  }

  /** the low 32 bits of a word (flags, whose high bits are processor-specific) */
  low32(off: number, what: string): number {
    if (this.bits === 32 || this.le) return this.u32(off, what);
    this.check(off, 8, what);
    return this.buf.readUInt32BE(off + 4);
  }

  check(off: number, len: number, what: string): void {
    if (off < 0 || off + len > this.buf.length) throw new Error(`ELF ${what} lies outside the ${this.buf.length}-byte file (offset ${off})`);
  }
}

/**
 * The section headers of an ELF file and each section's bytes.
 * @throws Error with a readable message when the header or section table is malformed
 */
export function readElf(buf: Buffer): ElfFile {
  if (!isElf(buf)) throw new Error('not an ELF file: no \\x7fELF magic');
  if (buf.length < 16) throw new Error('ELF identification is truncated');
  const bits = buf[4] === 1 ? 32 : buf[4] === 2 ? 64 : undefined;
  if (bits === undefined) throw new Error(`ELF class ${buf[4]} is neither 1 (32-bit) nor 2 (64-bit)`);
  const le = buf[5] === 1 ? true : buf[5] === 2 ? false : undefined;
  if (le === undefined) throw new Error(`ELF data encoding ${buf[5]} is neither 1 (little endian) nor 2 (big endian)`);
  const r = new Reader(buf, bits, le);
  // ELF header offsets: e_type 16, e_machine 18, then e_shoff and the counts at the end
  const [shoffAt, shentAt] = bits === 64 ? [0x28, 0x3a] : [0x20, 0x2e];
  const type = r.u16(16, 'header');
  const machine = r.u16(18, 'header');
  const shoff = r.word(shoffAt, 'header');
  const shentsize = r.u16(shentAt, 'header');
  let shnum = r.u16(shentAt + 2, 'header');
  let shstrndx = r.u16(shentAt + 4, 'header');
  const file: ElfFile = { bits, endian: le ? 'LE' : 'BE', type, machine, sections: [] };
  if (shoff === 0) return file;

  const minEnt = bits === 64 ? 64 : 40;
  if (shentsize < minEnt) throw new Error(`ELF section header size ${shentsize} is smaller than ${minEnt}`);
  const at = (i: number): number => shoff + i * shentsize;
  // with 0xff00 sections or more, the real count and string-table index live in section 0
  if (shnum === 0) shnum = r.word(at(0) + (bits === 64 ? 0x20 : 0x14), 'section header 0');
  if (shstrndx === SHN_XINDEX) shstrndx = r.u32(at(0) + (bits === 64 ? 0x28 : 0x18), 'section header 0');
  if (shnum > Math.floor((buf.length - Math.min(shoff, buf.length)) / shentsize)) {
    throw new Error(`ELF section header table (${shnum} × ${shentsize} bytes at offset ${shoff}) lies outside the ${buf.length}-byte file`);
  }

  const raw = Array.from({ length: shnum }, (_, i) => readHeader(r, at(i), i));
  const strtab = shstrndx === 0 ? undefined : raw[shstrndx];
  if (shstrndx !== 0 && strtab === undefined) throw new Error(`ELF section-name table index ${shstrndx} is not among the ${shnum} sections`);
  for (const s of raw) {
    if (s.index === 0) continue;
    const data = s.type === SHT_NOBITS ? Buffer.alloc(0) : slice(buf, s.offset, s.size, `section ${s.index}`);
    const name = strtab === undefined ? `[${s.index}]` : sectionName(buf, strtab, s.nameOffset, s.index);
    file.sections.push({ index: s.index, name, type: s.type, flags: s.flags, offset: s.offset, size: s.size, addralign: s.addralign, data });
  }
  return file;
}

interface RawHeader {
  index: number;
  nameOffset: number;
  type: number;
  flags: number;
  offset: number;
  size: number;
  addralign: number;
}

function readHeader(r: Reader, p: number, index: number): RawHeader {
  const what = `section header ${index}`;
  // ELF64: name 0, type 4, flags 8, addr 16, offset 24, size 32, link 40, info 44, addralign 48
  // ELF32: name 0, type 4, flags 8, addr 12, offset 16, size 20, link 24, info 28, addralign 32
  const w = r.bits === 64 ? 8 : 4;
  return {
    index,
    nameOffset: r.u32(p, what),
    type: r.u32(p + 4, what),
    flags: r.low32(p + 8, what),
    offset: r.word(p + 8 + 2 * w, what),
    size: r.word(p + 8 + 3 * w, what),
    addralign: r.word(p + 16 + 4 * w, what),
  };
}

function slice(buf: Buffer, offset: number, size: number, what: string): Buffer {
  if (offset > buf.length || size > buf.length - offset) {
    throw new Error(`ELF ${what} (${size} bytes at offset ${offset}) lies outside the ${buf.length}-byte file`);
  }
  return buf.subarray(offset, offset + size);
}

function sectionName(buf: Buffer, strtab: RawHeader, nameOffset: number, index: number): string {
  const table = slice(buf, strtab.offset, strtab.size, 'section-name table');
  if (nameOffset >= table.length) throw new Error(`ELF section ${index}: name offset ${nameOffset} lies outside the ${table.length}-byte section-name table`);
  const end = table.indexOf(0, nameOffset);
  return table.toString('utf8', nameOffset, end === -1 ? table.length : end);
}

/**
 * The notes in a SHT_NOTE section: namesz, descsz and type (4 bytes each), then the name and
 * the descriptor, each padded to the section's alignment (4, or 8 for some 64-bit notes).
 * Stops quietly at the first note that does not fit.
 */
export function readNotes(section: ElfSection, endian: 'LE' | 'BE'): ElfNote[] {
  const d = section.data;
  const align = section.addralign === 8 ? 8 : 4;
  const pad = (n: number): number => Math.ceil(n / align) * align;
  const u32 = (off: number): number => (endian === 'LE' ? d.readUInt32LE(off) : d.readUInt32BE(off));
  const notes: ElfNote[] = [];
  for (let p = 0; p + 12 <= d.length; ) {
    const [namesz, descsz, type] = [u32(p), u32(p + 4), u32(p + 8)];
    const nameAt = p + 12;
    const descAt = nameAt + pad(namesz);
    if (namesz > d.length || descsz > d.length || descAt + descsz > d.length) break;
    notes.push({ name: d.toString('latin1', nameAt, nameAt + namesz).replace(/\0+$/, ''), type, desc: d.subarray(descAt, descAt + descsz) });
    p = descAt + pad(descsz);
  }
  return notes;
}

/** The GNU build-id in a section, as hex, when the section holds one. */
export function buildIdOf(section: ElfSection, endian: 'LE' | 'BE'): string | undefined {
  if (section.type !== SHT_NOTE) return undefined;
  const note = readNotes(section, endian).find((n) => n.name === 'GNU' && n.type === NT_GNU_BUILD_ID);
  return note?.desc.toString('hex');
}

/**
 * A section's content: its bytes, inflated when it is zlib-compressed (SHF_COMPRESSED, as
 * `-gz` makes debug sections), so strings in it can be read.
 * @throws Error when a compressed section is malformed or inflates beyond `maxBytes`
 */
export function sectionContent(elf: ElfFile, s: ElfSection, maxBytes: number): Buffer {
  if ((s.flags & SHF_COMPRESSED) === 0 || s.type === SHT_NOBITS) return s.data;
  // Elf64_Chdr: type 4, reserved 4, size 8, addralign 8; Elf32_Chdr: type 4, size 4, addralign 4
  const headerSize = elf.bits === 64 ? 24 : 12;
  const r = new Reader(s.data, elf.bits, elf.endian === 'LE');
  const chType = r.u32(0, `${s.name} compression header`);
  const size = elf.bits === 64 ? r.word(8, `${s.name} compression header`) : r.u32(4, `${s.name} compression header`);
  if (chType !== 1) throw new Error(`${s.name}: compression type ${chType} is not zlib`);
  if (size > maxBytes) throw new Error(`${s.name}: ${size} bytes uncompressed, more than the ${maxBytes} compared`);
  try {
    return inflateSync(s.data.subarray(headerSize), { maxOutputLength: Math.max(1, size) });
  } catch (e) {
    throw new Error(`${s.name}: cannot inflate: ${(e as Error).message}`);
  }
}

/** Two sections of the same name (the k-th of that name on each side), or one side's only. */
export interface SectionPair {
  name: string;
  a: ElfSection | undefined;
  b: ElfSection | undefined;
}

/** The sections whose type, size or bytes differ, paired by name, in a's order then b's. */
export function differingSections(a: ElfFile, b: ElfFile): SectionPair[] {
  const keyed = (f: ElfFile): Map<string, ElfSection> => {
    const seen = new Map<string, number>();
    return new Map(
      f.sections.map((s) => {
        const k = (seen.get(s.name) ?? 0) + 1;
        seen.set(s.name, k);
        return [k === 1 ? s.name : `${s.name}#${k}`, s];
      }),
    );
  };
  const [ka, kb] = [keyed(a), keyed(b)];
  const out: SectionPair[] = [];
  for (const key of new Set([...ka.keys(), ...kb.keys()])) {
    const [sa, sb] = [ka.get(key), kb.get(key)];
    const same = sa !== undefined && sb !== undefined && sa.type === sb.type && sa.size === sb.size && sa.data.equals(sb.data);
    if (!same) out.push({ name: (sa ?? sb)!.name, a: sa, b: sb });
  }
  return out;
}
