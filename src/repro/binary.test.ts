import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sha256Digest } from '../util/digest.js';
import { diagnoseBinary } from './binary.js';
import { evidenceOf } from './causes.js';
import { diffTrees } from './tree.js';
import type { DiffContext, FileSide, RunFacts } from './types.js';
import { hasTool, runFacts } from './testing/fixtures.js';

const HAS_GCC = hasTool('gcc');

/** __DATE__ is "Dec  2 2026" (the day space-padded), __TIME__ "04:15:14" */
const E1 = Date.UTC(2026, 11, 2, 4, 15, 14) / 1000;
/** the rebuild, a day later */
const E2 = Date.UTC(2026, 11, 3, 4, 17, 30) / 1000;

function run(at: number, over: Partial<RunFacts>): RunFacts {
  return runFacts(new Date((at - 10) * 1000), new Date((at + 10) * 1000), over);
}

const ctx = (a: Partial<RunFacts> = {}, b: Partial<RunFacts> = {}): DiffContext => ({ runs: [run(E1, a), run(E2, { hostname: 'builder-b2', ...b })] });
const file = (path: string, buf: Buffer): FileSide => ({ path, type: 'file', mode: 0o755, size: buf.length, digest: sha256Digest(buf), read: async () => buf });

describe.skipIf(!HAS_GCC)('diagnoseBinary on ELF files gcc made (gcc is not installed)', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'airlock-bin-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** Compiles `source` in `root/dir` with `args`, returning the output's bytes. */
  function gcc(dir: string, source: string, args: string[], env: Record<string, string> = {}): Buffer {
    const cwd = join(root, dir);
    mkdirSync(cwd, { recursive: true });
    writeFileSync(join(cwd, 'hello.c'), source);
    execFileSync('gcc', [...args, 'hello.c', '-o', 'out'], { cwd, env: { ...process.env, ...env } });
    return readFileSync(join(cwd, 'out'));
  }
  const HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n';

  it('build-path: -g in two directories differs in .debug_line_str (DW_AT_comp_dir); the build-id follows', () => {
    const [a, b] = [gcc('build-a1', HELLO, ['-g', '-O1']), gcc('build-b2', HELLO, ['-g', '-O1'])];
    const ev = evidenceOf(ctx({ buildPath: join(root, 'build-a1') }, { buildPath: join(root, 'build-b2') }));
    const cause = diagnoseBinary(a, b, ev);
    expect(cause.cause).toBe('build-path');
    expect(cause.field).toBe('ELF section .debug_line_str');
    expect(cause.evidence).toMatch(/^section \.debug_line_str offset 0x[0-9a-f]+: '.*build-a1' vs '.*build-b2'; '.*build-a1' is the build path of run 1, '.*build-b2' is the build path of run 2/);
    // where the two paths sort differently among the strings, .debug_info and .debug_line shift too
    expect(cause.evidence).toMatch(/; \.note\.gnu\.build-id differs too, a hash of the linked bytes: build-id follows from: [^;]*\.debug_line_str$/);
    expect(cause.also ?? []).not.toContain('random');
  });

  it('build-path: directories of different lengths shift offsets in other debug sections, which are named', () => {
    const [a, b] = [gcc('p', HELLO, ['-g', '-O1']), gcc('a-longer-path', HELLO, ['-g', '-O1'])];
    const cause = diagnoseBinary(a, b, evidenceOf(ctx({ buildPath: join(root, 'p') }, { buildPath: join(root, 'a-longer-path') })));
    expect(cause).toMatchObject({ cause: 'build-path', field: 'ELF section .debug_line_str' });
    expect(cause.evidence).toMatch(/; other sections that differ: [^;]*\.debug_(info|line)/);
    expect(cause.evidence).toContain('build-id follows from: ');
  });

  it('timestamp: __DATE__ and __TIME__ in .rodata, from two SOURCE_DATE_EPOCHs inside the build windows', () => {
    const src = '#include <stdio.h>\nint main(void) { puts(__DATE__); puts(__TIME__); return 0; }\n';
    const a = gcc('date', src, ['-O1'], { SOURCE_DATE_EPOCH: String(E1) });
    const b = gcc('date', src, ['-O1'], { SOURCE_DATE_EPOCH: String(E2) });
    expect(a.includes('Dec  2 2026\0')).toBe(true);
    const cause = diagnoseBinary(a, b, evidenceOf(ctx()));
    expect(cause).toEqual({
      cause: 'timestamp',
      evidence: expect.stringMatching(
        /^section \.rodata offset 0x[0-9a-f]+: 'Dec {2}2 2026' vs 'Dec {2}3 2026', both inside the build windows \(__DATE__\/__TIME__\); \.note\.gnu\.build-id differs too, a hash of the linked bytes: build-id follows from: \.rodata$/,
      ),
      field: 'ELF section .rodata',
    });
  });

  it('hostname: an #ident string lands in .comment', () => {
    const src = '#ident HOST\nint main(void) { return 0; }\n';
    const a = gcc('ident', src, ['-c', '-DHOST="built on builder-a7"']);
    const b = gcc('ident', src, ['-c', '-DHOST="built on builder-b2"']);
    expect(diagnoseBinary(a, b, evidenceOf(ctx()))).toEqual({
      cause: 'hostname',
      evidence: expect.stringMatching(/^section \.comment offset 0x[0-9a-f]+: 'built on builder-a7' vs 'built on builder-b2'; 'builder-a7' is the hostname of run 1/),
      field: 'ELF section .comment',
    });
  });

  it('only the build-id differs after strip: it follows from bytes no longer in the file', () => {
    const strip = (dir: string): Buffer => {
      gcc(dir, HELLO, ['-g', '-O1']);
      execFileSync('strip', ['out'], { cwd: join(root, dir) });
      return readFileSync(join(root, dir, 'out'));
    };
    const cause = diagnoseBinary(strip('strip-a1'), strip('strip-b2'), evidenceOf(ctx()));
    expect(cause).toEqual({
      cause: 'unknown',
      evidence: expect.stringMatching(/^only the build-id differs \(build-id [0-9a-f]{40} vs [0-9a-f]{40}\); it is a hash of the linked bytes, so the build-id follows from bytes no longer in this file/),
      field: 'ELF note .note.gnu.build-id',
    });
  });

  it('equal sections with a differing header: the field says so', () => {
    const a = gcc('hdr', HELLO, ['-c']);
    const b = Buffer.from(a);
    b.writeUInt32LE(0x1234, 0x30); // e_flags
    expect(diagnoseBinary(a, b, evidenceOf(ctx()))).toEqual({
      cause: 'unknown',
      evidence: expect.stringMatching(/^offset 0x30: /),
      field: 'ELF headers (the section contents are the same)',
    });
  });

  it('through diffTrees: a static library built in two directories names the member and the section', async () => {
    const lib = (dir: string): Buffer => {
      gcc(dir, HELLO, ['-g', '-c']);
      execFileSync('ar', ['rcD', 'libhello.a', 'out'], { cwd: join(root, dir) });
      return readFileSync(join(root, dir, 'libhello.a'));
    };
    const c = ctx({ buildPath: join(root, 'lib-a1') }, { buildPath: join(root, 'lib-b2') });
    const [e] = await diffTrees([file('usr/lib/libhello.a', lib('lib-a1'))], [file('usr/lib/libhello.a', lib('lib-b2'))], c);
    expect(e!.members).toMatchObject([
      {
        path: 'out',
        differs: ['content'],
        likelyCause: { cause: 'build-path', evidence: expect.stringMatching(/^section \.debug_line_str offset/), field: 'ELF section .debug_line_str' },
      },
    ]);
    expect(e!.likelyCause).toMatchObject({ cause: 'build-path', evidence: expect.stringMatching(/^out: section \.debug_line_str offset/) });
  });
});

describe('diagnoseBinary on malformed or bare ELF', () => {
  const ev = evidenceOf(ctx());
  const elfHeader = Buffer.from('\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0', 'latin1');

  it('an ELF without a section table is compared as bytes, as before', () => {
    const bin = (time: string): Buffer => Buffer.concat([elfHeader, Buffer.alloc(64), Buffer.from(`zlib 1.3\0Dec  2 2026\0${time}\0`), Buffer.alloc(32)]);
    expect(diagnoseBinary(bin('04:15:14'), bin('04:17:30'), evidenceOf({ runs: [run(E1, {}), run(E1 + 136, {})] }))).toEqual({
      cause: 'timestamp',
      evidence: "offset 0x69: '04:15:14' vs '04:17:30', both inside the build windows (__DATE__/__TIME__)",
    });
  });

  it('a section table that cannot be read falls back to the bytes, and diffTrees does not throw', async () => {
    const broken = (tail: string): Buffer => {
      const b = Buffer.concat([elfHeader, Buffer.alloc(64), Buffer.from(tail)]);
      b.writeBigUInt64LE(0xffffffn, 0x28); // e_shoff far past the end
      b.writeUInt16LE(64, 0x3a);
      b.writeUInt16LE(3, 0x3c);
      return b;
    };
    expect(diagnoseBinary(broken('built on builder-a7'), broken('built on builder-b2'), ev)).toMatchObject({ cause: 'hostname' });
    expect(diagnoseBinary(broken('x'), broken('y'), ev).field).toBeUndefined();
    const [e] = await diffTrees([file('bin/x', broken('aaaa'))], [file('bin/x', broken('bbbb'))], ctx());
    expect(e).toMatchObject({ path: 'bin/x', differs: ['content'], likelyCause: { cause: 'unknown' } });
  });
});
