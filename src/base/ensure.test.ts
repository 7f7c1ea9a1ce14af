import { describe, expect, it } from 'vitest';
import { builtinBases, specBaseRef, specBases } from './catalog.js';
import { firstDifferingPaths } from './build.js';
import { recipeDrift } from './ensure.js';
import type { BaseLockEntry } from './lock.js';

const line = (path: string, extra: Record<string, unknown> = {}) => JSON.stringify({ gid: 0, mode: '0644', path, type: 'file', uid: 0, size: 1, sha256: 'a'.repeat(64), ...extra });

describe('firstDifferingPaths', () => {
  it('names paths only in the lock, only in the build, and changed, in path order, up to the bound', () => {
    const locked = [line('etc/a'), line('etc/b'), line('usr/c')].join('\n');
    const built = [line('etc/a'), line('etc/b', { mode: '0600' }), line('var/d')].join('\n');
    expect(firstDifferingPaths(locked, built)).toEqual(['~ etc/b', '- usr/c (only in the lock)', '+ var/d (only in the build)']);
    expect(firstDifferingPaths(locked, built, 1)).toEqual(['~ etc/b']);
    expect(firstDifferingPaths(locked, locked)).toEqual([]);
  });
});

describe('recipeDrift', () => {
  const [, bookworm] = builtinBases('/locks');
  const entry = { kind: 'debian', suite: 'bookworm', architecture: 'amd64', include: [], sourceDateEpoch: 1686355200 } as unknown as BaseLockEntry;

  it('is empty when the declaration is what was locked (package order does not matter)', () => {
    expect(recipeDrift(bookworm!, entry)).toEqual([]);
    const spec = specBases({ name: 'p', bases: { py: { debian: 'bookworm', packages: ['b', 'a'] } } }, '/proj')[0]!;
    expect(recipeDrift(spec, { ...entry, include: ['a', 'b'] } as BaseLockEntry)).toEqual([]);
  });

  it('names what changed when packages or the suite moved', () => {
    const spec = specBases({ name: 'p', bases: { py: { debian: 'bookworm', packages: ['python3', 'git'] } } }, '/proj')[0]!;
    expect(recipeDrift(spec, { ...entry, include: ['python3'] } as BaseLockEntry)).toEqual(['packages [python3] -> [git,python3]']);
    expect(recipeDrift(bookworm!, { ...entry, suite: 'trixie' } as BaseLockEntry)).toEqual(['suite trixie -> bookworm']);
  });
});

describe('spec bases', () => {
  it('are built as airlock/<spec name>/<base> and locked next to the spec', () => {
    expect(specBaseRef('python-base', 'py')).toBe('airlock/python-base/py:latest');
    expect(specBases({ name: 'python-base', bases: { py: { debian: 'bookworm', packages: [] } } }, '/proj')[0]).toMatchObject({
      ref: 'airlock/python-base/py:latest',
      lockFile: '/proj/locks/base-images.lock.json',
    });
  });
});
