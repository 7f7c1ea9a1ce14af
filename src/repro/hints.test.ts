import { describe, expect, it } from 'vitest';

import { hintFor } from './hints.js';
import { CAUSE_RANK } from './types.js';

describe('hintFor', () => {
  it('has a fix for every cause but unknown', () => {
    for (const c of CAUSE_RANK) expect(hintFor(c) === undefined, c).toBe(c === 'unknown');
  });

  it('prefers the fix for the format field the cause was found in', () => {
    expect(hintFor({ cause: 'timestamp', evidence: '', field: 'gzip header mtime' })).toMatch(/^gzip -n/);
    expect(hintFor({ cause: 'timestamp', evidence: '', field: 'tar member mtime' })).toMatch(/--mtime=@\$SOURCE_DATE_EPOCH/);
    expect(hintFor({ cause: 'uid-gid', evidence: '', field: 'tar member owner' })).toMatch(/--numeric-owner/);
    expect(hintFor({ cause: 'build-path', evidence: '', field: 'ELF section .debug_line_str' })).toMatch(/-ffile-prefix-map/);
    expect(hintFor({ cause: 'timestamp', evidence: '', field: 'ELF section .rodata' })).toMatch(/SOURCE_DATE_EPOCH/);
    // a field fix bound to another cause does not apply
    expect(hintFor({ cause: 'hostname', evidence: '', field: 'ELF section .rodata' })).toBe(hintFor('hostname'));
  });
});
