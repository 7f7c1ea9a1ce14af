import { describe, expect, it } from 'vitest';

import { baseDirs, guestTree, treeContentBytes } from './guest-tree.js';
import type { ImageEntry } from './image-spool.js';

const e = (x: Partial<ImageEntry> & { path: string; type: ImageEntry['type'] }): ImageEntry => ({ mode: 0o644, uid: 0, gid: 0, size: 0, offset: 0, ...x });

describe('guestTree', () => {
  it('sorts by bytes, parents first, and makes missing parents', () => {
    const tree = guestTree([e({ path: 'a/b/c', type: 'file', size: 1 }), e({ path: 'a-b', type: 'dir', mode: 0o700 }), e({ path: 'B', type: 'file' })], []);
    expect(tree.map((n) => `${n.path}:${n.type}:${n.mode.toString(8)}`)).toEqual(['B:file:644', 'a:dir:755', 'a-b:dir:700', 'a/b:dir:755', 'a/b/c:file:644']);
  });

  it('keeps the image’s directories and symlinks where airlock adds a directory, and replaces files', () => {
    const tree = guestTree(
      [e({ path: 'tmp', type: 'symlink', target: 'var/tmp' }), e({ path: 'dev', type: 'dir', mode: 0o700, uid: 5 }), e({ path: '.airlock/busybox', type: 'file', size: 9 })],
      [...baseDirs(), { path: '.airlock/busybox', type: 'file', mode: 0o755, source: { kind: 'bytes', data: Buffer.from('bb') } }],
    );
    const by = new Map(tree.map((n) => [n.path, n]));
    expect(by.get('tmp')).toMatchObject({ type: 'symlink', target: 'var/tmp' });
    expect(by.get('dev')).toMatchObject({ type: 'dir', mode: 0o700, uid: 5 });
    expect(by.get('proc')).toMatchObject({ type: 'dir', mode: 0o555 });
    expect(by.get('.airlock/busybox')).toMatchObject({ mode: 0o755, size: 2, uid: 0 });
    expect(treeContentBytes(tree)).toBe(2);
  });

  it('turns hardlink chains into one group whose first member carries the data', () => {
    const tree = guestTree(
      [e({ path: 'z', type: 'file', size: 4, offset: 10, mode: 0o755, uid: 3 }), e({ path: 'm', type: 'hardlink', target: 'z' }), e({ path: 'a', type: 'hardlink', target: 'z' })],
      [],
    );
    expect(tree.map((n) => [n.path, n.type, n.linkGroup, n.nlink, n.source?.kind ?? null, n.mode, n.uid])).toEqual([
      ['a', 'file', 'a', 3, 'spool', 0o755, 3],
      ['m', 'file', 'a', 3, null, 0o755, 3],
      ['z', 'file', 'a', 3, null, 0o755, 3],
    ]);
    expect(treeContentBytes(tree)).toBe(4);
  });
});
