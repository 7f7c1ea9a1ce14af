import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../errors.js';
import { loadSpec, parseSpec } from './load.js';
import type { SpecIssue } from './types.js';
import { MAX_SPEC_BYTES, MAX_SPEC_NODES } from './yaml-limits.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-yaml-limits-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A spec whose `images` mapping has `n` keys `k0`..`k<n-1>` (line 4 onwards). */
const wide = (n: number) => `version: 1\nname: p\nimages:\n${Array.from({ length: n }, (_, i) => `  k${i}: v`).join('\n')}\nenvironments: {}\n`;

function refusal(text: string): AirlockError {
  try {
    parseSpec(text, join(dir, 'airlock.yaml'));
  } catch (e) {
    if (e instanceof AirlockError) return e;
    throw e;
  }
  throw new Error('expected the spec to be refused');
}
const issues = (e: AirlockError) => e.details.issues as SpecIssue[];

describe('spec size and node limits', () => {
  it('refuses a 20k-key mapping and a 50k-key spec by their size before parsing them, at 1:1', () => {
    for (const n of [20_000, 50_000]) {
      const text = wide(n);
      expect(Buffer.byteLength(text)).toBeGreaterThan(MAX_SPEC_BYTES);
      const e = refusal(text);
      expect(e.code).toBe('SPEC_INVALID');
      expect(issues(e)).toEqual([{ path: '', line: 1, column: 1, message: expect.stringMatching(/bytes, more than the limit of 131072/) }]);
    }
  });

  it('refuses a small but dense spec by its node count, at the first node past the limit', () => {
    const text = `version: 1\nname: p\nimages: {}\nenvironments: {}\nx: [${'1,'.repeat(12_000)}1]\n`;
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_SPEC_BYTES);
    const e = refusal(text);
    expect(e.code).toBe('SPEC_INVALID');
    expect(issues(e)).toEqual([{ path: '', line: 5, column: expect.any(Number), message: `the spec has more than ${MAX_SPEC_NODES} YAML nodes (the limit); is it generated?` }]);
  });

  it('finds repeated keys of a large mapping, each at its own key', () => {
    const lines = wide(3_000).split('\n');
    lines.splice(1003, 0, '  k7: w', '  k2999: w'); // lines 1004 and 1005
    const e = refusal(lines.join('\n'));
    expect(e.code).toBe('SPEC_YAML');
    expect(issues(e).map((i) => [i.line, i.column, i.message])).toEqual([
      [1004, 3, 'Map keys must be unique; "k7" is repeated'],
      [3005, 3, 'Map keys must be unique; "k2999" is repeated'], // the later of the two
    ]);
  });

  it('positions thousands of problems, each at its own line', () => {
    // every image is refused (unknown key), and every environment names an undefined image
    const n = 1_500;
    const text = `version: 1\nname: p\nimages:\n${Array.from({ length: n }, (_, i) => `  k${i}: { dockerfile: D, bad: 1 }`).join('\n')}\nenvironments: {}\n`;
    const found = issues(refusal(text)).filter((i) => i.message.startsWith('unknown key'));
    expect(found).toHaveLength(n);
    found.forEach((i, k) => expect([i.path, i.line]).toEqual([`images.k${k}.bad`, 4 + k]));
  });

  it('loadSpec refuses a fifo, a device and an oversized file without reading them', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo.yaml')]);
    await symlink('/dev/zero', join(dir, 'zero.yaml'));
    await writeFile(join(dir, 'big.yaml'), Buffer.alloc(MAX_SPEC_BYTES + 10, 0x20));
    await expect(loadSpec(join(dir, 'fifo.yaml'))).rejects.toMatchObject({ code: 'SPEC_NOT_FOUND', message: expect.stringContaining('fifo') });
    await expect(loadSpec(join(dir, 'zero.yaml'))).rejects.toMatchObject({ code: 'SPEC_NOT_FOUND', message: expect.stringContaining('character device') });
    await expect(loadSpec(join(dir, 'big.yaml'))).rejects.toMatchObject({ code: 'SPEC_INVALID', details: { issues: [expect.objectContaining({ line: 1, column: 1 })] } });
  });
});
