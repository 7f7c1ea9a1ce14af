import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { diffoscopeReport } from './diffoscope.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-diffoscope-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for diffoscope: prints its argv and exits with `code`. */
function fake(code: number): string {
  const bin = join(dir, 'diffoscope');
  writeFileSync(bin, `#!/bin/sh\nprintf '%s|' "$@"\nexit ${code}\n`);
  chmodSync(bin, 0o755);
  return bin;
}

describe('diffoscopeReport', () => {
  it('is undefined when diffoscope is not installed', async () => {
    expect(await diffoscopeReport('/a', '/b', { bin: join(dir, 'missing') })).toBeUndefined();
  });

  it('passes the paths as argv (no shell) and returns the report on exit 1', async () => {
    expect(await diffoscopeReport('/x/a b', '/x/$(c)', { bin: fake(1) })).toBe('--text|-|--|/x/a b|/x/$(c)|');
    expect(await diffoscopeReport('/a', '/b', { bin: fake(0) })).toBe('--text|-|--|/a|/b|');
  });

  it('is undefined when diffoscope fails', async () => {
    expect(await diffoscopeReport('/a', '/b', { bin: fake(2) })).toBeUndefined();
  });
});
