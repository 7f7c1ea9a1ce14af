import type { Header } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { EntryGuard } from './guard.js';

const link = (name: string, linkname: string): Header => ({ name, type: 'symlink', linkname, mode: 0o777 });
const loop = expect.objectContaining({ code: 'ARCHIVE_UNSAFE', message: expect.stringContaining('is a loop of symbolic links') });

describe('EntryGuard symlinks', () => {
  it('names a loop of symlinks (a -> b -> a) as a loop, not as leaving the root', () => {
    const g = new EntryGuard();
    g.check(link('out/a', 'b'));
    g.check(link('out/b', 'a'));
    expect(() => g.finish()).toThrow(loop);
  });

  it('names a link through itself as a loop', () => {
    const g = new EntryGuard();
    g.check(link('self', 'self/x'));
    expect(() => g.finish()).toThrow(loop);
  });

  it('still says "outside" for a link that climbs out', () => {
    const g = new EntryGuard();
    expect(() => g.check(link('out/up', '../../etc'))).toThrow(expect.objectContaining({ message: expect.stringContaining('resolves outside the archive root') }));
  });
});
