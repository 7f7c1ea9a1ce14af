import { describe, expect, it } from 'vitest';

import { makeZip } from './testing/fixtures.js';
import { isZip, readZip } from './zip.js';

describe('readZip', () => {
  it('lists members in stored order with modes, times and content', () => {
    const zip = makeZip([
      { name: 'dir/', mtime: 1795294991 },
      { name: 'dir/a.txt', content: 'hello hello hello', deflate: true, mode: 0o600, mtime: 1795294991 },
      { name: 'b.bin', content: 'raw' },
    ]);
    expect(isZip(zip)).toBe(true);
    const members = readZip(zip, 1024);
    expect(members.map(({ read: _read, ...m }) => m)).toEqual([
      { name: 'dir/', isDir: true, isSymlink: false, mode: 0o644, mtime: 1795294991, size: 0 },
      { name: 'dir/a.txt', isDir: false, isSymlink: false, mode: 0o600, mtime: 1795294991, size: 17 },
      { name: 'b.bin', isDir: false, isSymlink: false, mode: 0o644, mtime: 315532800, size: 3 },
    ]);
    expect(members[1]!.read().toString()).toBe('hello hello hello');
    expect(members[2]!.read().toString()).toBe('raw');
  });

  it('refuses what it cannot read, with a message', () => {
    expect(() => readZip(Buffer.from('PK\x03\x04 not really a zip'), 1024)).toThrow('no zip end-of-central-directory record');
    const zip = makeZip([{ name: 'big', content: 'x'.repeat(100) }]);
    expect(() => readZip(zip, 10)[0]!.read()).toThrow('big: 100 bytes, more than the 10 compared');
  });
});
