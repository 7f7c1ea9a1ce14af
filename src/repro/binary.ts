import { diagnoseRegions, unknownCause, type Evidence } from './causes.js';
import { epochInWindows, isoSeconds } from './timestamps.js';
import type { LikelyCause } from './types.js';

/**
 * Binary content: where two buffers differ, and why. Text detectors run on the printable
 * strings around each difference (what `strings` would show); timestamps stored as 32-bit
 * integers are looked for directly.
 */

/** Why two binaries differ: timestamps stored as integers, then the strings around each difference. */
export function diagnoseBinary(a: Buffer, b: Buffer, ev: Evidence): LikelyCause {
  const spans = byteSpans(a, b);
  const integer = a.length === b.length ? integerTimestamp(a, b, spans, ev) : undefined;
  const regions = spans.map((s) => ({
    where: `offset 0x${s.start.toString(16)}`,
    a: printable(a.subarray(Math.max(0, s.start - 48), s.endA + 48)),
    b: printable(b.subarray(Math.max(0, s.start - 48), s.endB + 48)),
  }));
  const found = diagnoseRegions(regions, ev);
  if (integer !== undefined && (found === undefined || found.cause !== 'timestamp')) return integer;
  return found ?? unknownCause(regions[0]);
}

/** Epoch seconds stored as 32-bit integers (gzip, zip, PE, cpio and many more), both in a window. */
function integerTimestamp(a: Buffer, b: Buffer, spans: readonly Span[], ev: Evidence): LikelyCause | undefined {
  for (const s of spans) {
    if (s.endA - s.start > 4) continue;
    for (let off = Math.max(0, s.endA - 4); off <= s.start && off + 4 <= a.length; off++) {
      for (const endian of ['LE', 'BE'] as const) {
        const va = endian === 'LE' ? a.readUInt32LE(off) : a.readUInt32BE(off);
        const vb = endian === 'LE' ? b.readUInt32LE(off) : b.readUInt32BE(off);
        if (va !== vb && epochInWindows(va, ev.windows) && epochInWindows(vb, ev.windows)) {
          return {
            cause: 'timestamp',
            evidence: `offset 0x${off.toString(16)}: 32-bit ${endian} ${va} (${isoSeconds(va * 1000)}) vs ${vb} (${isoSeconds(vb * 1000)}), both inside the build windows`,
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

