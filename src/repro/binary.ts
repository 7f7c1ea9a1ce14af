import { diagnoseRegions, q, unknownCause, type Evidence } from './causes.js';
import { buildIdOf, differingSections, isElf, readElf, sectionContent, SHT_NOBITS, SHT_NOTE, type ElfFile, type SectionPair } from './elf.js';
import { epochInWindows, isoSeconds } from './timestamps.js';
import { causeRank, type CauseKind, type LikelyCause } from './types.js';

/**
 * Binary content: where two buffers differ, and why. Text detectors run on the printable
 * strings around each difference (what `strings` would show); timestamps stored as 32-bit
 * integers are looked for directly. Two ELF files are compared section by section, so the
 * cause names the section it was found in.
 */

/** Why two binaries differ: per ELF section when both are ELF, else timestamps stored as integers, then the strings around each difference. */
export function diagnoseBinary(a: Buffer, b: Buffer, ev: Evidence): LikelyCause {
  if (isElf(a) && isElf(b)) {
    const elf = diagnoseElf(a, b, ev);
    if (elf !== undefined) return elf;
  }
  return diagnoseBytes(a, b, ev, atOffset);
}

const atOffset = (off: number): string => `offset 0x${off.toString(16)}`;

function diagnoseBytes(a: Buffer, b: Buffer, ev: Evidence, where: (offset: number) => string, maxSpan = Infinity): LikelyCause {
  const spans = byteSpans(a, b);
  const integer = a.length === b.length ? integerTimestamp(a, b, spans, ev, where) : undefined;
  const regions = spans.map((s) => ({
    where: where(s.start),
    a: printable(a.subarray(Math.max(0, s.start - 48), Math.min(s.endA, s.start + maxSpan) + 48)),
    b: printable(b.subarray(Math.max(0, s.start - 48), Math.min(s.endB, s.start + maxSpan) + 48)),
  }));
  const found = diagnoseRegions(regions, ev);
  if (integer !== undefined && (found === undefined || found.cause !== 'timestamp')) return integer;
  return found ?? unknownCause(regions[0]);
}

/** Epoch seconds stored as 32-bit integers (gzip, zip, PE, cpio and many more), both in a window. */
function integerTimestamp(a: Buffer, b: Buffer, spans: readonly Span[], ev: Evidence, where: (offset: number) => string): LikelyCause | undefined {
  for (const s of spans) {
    if (s.endA - s.start > 4) continue;
    for (let off = Math.max(0, s.endA - 4); off <= s.start && off + 4 <= a.length; off++) {
      for (const endian of ['LE', 'BE'] as const) {
        const va = endian === 'LE' ? a.readUInt32LE(off) : a.readUInt32BE(off);
        const vb = endian === 'LE' ? b.readUInt32LE(off) : b.readUInt32BE(off);
        if (va !== vb && epochInWindows(va, ev.windows) && epochInWindows(vb, ev.windows)) {
          return {
            cause: 'timestamp',
            evidence: `${where(off)}: 32-bit ${endian} ${va} (${isoSeconds(va * 1000)}) vs ${vb} (${isoSeconds(vb * 1000)}), both inside the build windows`,
          };
        }
      }
    }
  }
  return undefined;
}

interface Span {
  start: number;
  endA: number;
  endB: number;
}

/** Where two buffers differ: byte runs (merged when close) for equal lengths, else the middle between common prefix and suffix. */
export function byteSpans(a: Buffer, b: Buffer, max = 20): Span[] {
  if (a.length !== b.length) {
    let p = 0;
    while (p < a.length && p < b.length && a[p] === b[p]) p++;
    let s = 0;
    while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
    return [{ start: p, endA: a.length - s, endB: b.length - s }];
  }
  const spans: Span[] = [];
  for (let i = 0; i < a.length && spans.length <= max; i++) {
    if (a[i] === b[i]) continue;
    const last = spans.at(-1);
    if (last !== undefined && i - last.endA < 8) {
      last.endA = last.endB = i + 1;
    } else {
      spans.push({ start: i, endA: i + 1, endB: i + 1 });
    }
  }
  return spans.slice(0, max);
}

/** Printable ASCII runs of 4+ characters, one per line (what `strings` shows). */
function printable(buf: Buffer): string {
  return (buf.toString('latin1').match(/[\x20-\x7e]{4,}/g) ?? []).join('\n');
}

// ELF: section by section

/** Sections examined per file; past this, the rest are only named. */
const MAX_SECTIONS = 64;
/** Bytes of one differing run read for strings: a shifted section differs to its end. */
const MAX_SPAN = 8 * 1024;
/** A compressed debug section is inflated up to this size. */
const MAX_INFLATE = 64 * 1024 * 1024;
/** Section names quoted in one list. */
const MAX_NAMED = 6;


/**
 * Two ELF files, compared by section: the cause found in the sections that differ, its
 * `field` naming them. The build-id note is a hash of the rest, so it is reported as a
 * consequence of the other sections. Undefined when either side's section table cannot be
 * read or neither has one (the caller then compares raw bytes).
 */
function diagnoseElf(a: Buffer, b: Buffer, ev: Evidence): LikelyCause | undefined {
  const ea = tryReadElf(a);
  const eb = tryReadElf(b);
  if (ea === undefined || eb === undefined || (ea.sections.length === 0 && eb.sections.length === 0)) return undefined;
  const pairs = differingSections(ea, eb);
  if (pairs.length === 0) {
    // equal sections: the ELF header, program headers, section table or padding differ
    return { ...diagnoseBytes(a, b, ev, atOffset), field: 'ELF headers (the section contents are the same)' };
  }
  const isBuildId = (p: SectionPair): boolean =>
    p.name === '.note.gnu.build-id' || (p.a !== undefined && buildIdOf(p.a, ea.endian) !== undefined) || (p.b !== undefined && buildIdOf(p.b, eb.endian) !== undefined);
  const ids = pairs.filter(isBuildId);
  const rest = pairs.filter((p) => !isBuildId(p));
  if (rest.length === 0) return buildIdOnly(ids, ea, eb);

  const found = rest
    .slice(0, MAX_SECTIONS)
    .map((pair, order) => ({ pair, order, cause: sectionCause(pair, ea, eb, ev) }))
    .sort((x, y) => causeRank(x.cause.cause) - causeRank(y.cause.cause) || x.order - y.order);
  const best = found[0]!;
  const kind = best.cause.cause;
  const blamed = kind === 'unknown' ? found.slice(0, 1) : found.filter((f) => f.cause.cause === kind);
  const blamedNames = new Set(blamed.map((f) => f.pair.name));

  const notes: string[] = [];
  const otherCauses = new Map<CauseKind, string>();
  for (const f of found) if (f.cause.cause !== kind && f.cause.cause !== 'unknown' && !otherCauses.has(f.cause.cause)) otherCauses.set(f.cause.cause, f.pair.name);
  for (const [c, name] of otherCauses) notes.push(`also ${c} in ${name}`);
  const others = rest.filter((p) => !blamedNames.has(p.name) && ![...otherCauses.values()].includes(p.name));
  if (others.length > 0) notes.push(`other sections that differ: ${names(others)}`);
  if (ids.length > 0) notes.push(`${names(ids)} differs too, a hash of the linked bytes: build-id follows from: ${names(rest)}`);
  const also = [...new Set([...(best.cause.also ?? []), ...otherCauses.keys()])];
  return {
    cause: kind,
    evidence: [best.cause.evidence, ...notes].join('; '),
    field: `${label(best.pair)} ${names(blamed.map((f) => f.pair))}`,
    ...(also.length > 0 ? { also } : {}),
  };
}

function tryReadElf(buf: Buffer): ElfFile | undefined {
  try {
    return readElf(buf);
  } catch {
    return undefined;
  }
}

/** Why one section differs: present on one side only, a size of bytes not in the file, else its content. */
function sectionCause(p: SectionPair, ea: ElfFile, eb: ElfFile, ev: Evidence): LikelyCause {
  const { a, b, name } = p;
  if (a === undefined || b === undefined) return { cause: 'unknown', evidence: `section ${name} only in ${a === undefined ? 'b' : 'a'}` };
  if (a.type === SHT_NOBITS || b.type === SHT_NOBITS) {
    return { cause: 'unknown', evidence: `section ${name}: ${a.size} vs ${b.size} bytes (${a.type === b.type ? 'not stored in the file' : 'section types differ'})` };
  }
  let [ca, cb] = [a.data, b.data];
  try {
    [ca, cb] = [sectionContent(ea, a, MAX_INFLATE), sectionContent(eb, b, MAX_INFLATE)];
  } catch {
    // compared as stored
  }
  if (ca.equals(cb)) return { cause: 'unknown', evidence: `section ${name}: the same content, compressed differently` };
  return diagnoseBytes(ca, cb, ev, (off) => `section ${name} offset 0x${off.toString(16)}`, MAX_SPAN);
}

/** Only the build-id differs: what it hashed is no longer in the file, or it was never a hash. */
function buildIdOnly(ids: readonly SectionPair[], ea: ElfFile, eb: ElfFile): LikelyCause {
  const first = ids[0]!;
  const idA = first.a === undefined ? undefined : buildIdOf(first.a, ea.endian);
  const idB = first.b === undefined ? undefined : buildIdOf(first.b, eb.endian);
  const values = idA !== undefined && idB !== undefined ? `build-id ${idA} vs ${idB}` : `${first.name} differs`;
  return {
    cause: 'unknown',
    evidence:
      `only the build-id differs (${values}); it is a hash of the linked bytes, so the build-id follows from bytes no longer in this file ` +
      '(debug info removed by strip or objcopy: compare the unstripped files or the .debug files), or it is random (--build-id=uuid)',
    field: `${label(first)} ${names(ids)}`,
  };
}

function label(p: SectionPair): string {
  return (p.a ?? p.b)!.type === SHT_NOTE ? 'ELF note' : 'ELF section';
}

function names(pairs: readonly SectionPair[]): string {
  const list = [...new Set(pairs.map((p) => p.name))];
  const shown = list.slice(0, MAX_NAMED).map((n) => (/^[\x21-\x7e]+$/.test(n) ? n : q(n)));
  return `${shown.join(', ')}${list.length > MAX_NAMED ? `, … (${list.length} in all)` : ''}`;
}
