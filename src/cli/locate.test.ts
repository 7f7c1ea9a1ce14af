import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../errors.js';
import { locate, requireSpec } from './locate.js';

/** A project: spec at its root (by `name`), and an empty subfolder a/b. */
function project(name = 'airlock.yaml'): { dir: string; sub: string } {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-locate-'));
  const sub = join(dir, 'a', 'b');
  mkdirSync(sub, { recursive: true });
  if (name) writeFileSync(join(dir, name), 'version: 1\n');
  return { dir, sub };
}

describe('locate', () => {
  it('finds airlock.yaml in the cwd: the workspace is the cwd, nothing to say', () => {
    const { dir } = project();
    expect(locate({ cwd: dir, env: {} })).toEqual({ root: dir, specFile: join(dir, 'airlock.yaml'), note: undefined });
  });

  it('finds the spec in a folder above and makes its folder the workspace, saying so', () => {
    const { dir, sub } = project();
    const where = locate({ cwd: sub, env: {} });
    expect(where.specFile).toBe(join(dir, 'airlock.yaml'));
    expect(where.root).toBe(dir);
    expect(where.note).toBe(`airlock: workspace ${dir} (the folder of ../../airlock.yaml)`);
  });

  it('finds airlock.yml too, and prefers airlock.yaml when both exist (saying so)', () => {
    const yml = project('airlock.yml');
    expect(locate({ cwd: yml.sub, env: {} }).specFile).toBe(join(yml.dir, 'airlock.yml'));
    writeFileSync(join(yml.dir, 'airlock.yaml'), 'version: 1\n');
    const both = locate({ cwd: yml.dir, env: {} });
    expect(both.specFile).toBe(join(yml.dir, 'airlock.yaml'));
    expect(both.note).toContain('using airlock.yaml');
  });

  it('-f names the spec (relative to the cwd) and its folder is the workspace', () => {
    const { dir, sub } = project('');
    writeFileSync(join(sub, 'other.yaml'), 'version: 1\n');
    const where = locate({ file: 'a/b/other.yaml', cwd: dir, env: {} });
    expect(where).toMatchObject({ specFile: join(sub, 'other.yaml'), root: sub });
  });

  it('AIRLOCK_FILE names the spec when -f does not; -f wins over it', () => {
    const { dir, sub } = project();
    const env = { AIRLOCK_FILE: join(dir, 'airlock.yaml') };
    expect(locate({ cwd: sub, env }).specFile).toBe(join(dir, 'airlock.yaml'));
    expect(locate({ file: 'x.yaml', cwd: sub, env }).specFile).toBe(join(sub, 'x.yaml'));
  });

  it('--root, then AIRLOCK_ROOT, name the workspace over the spec folder, without a note', () => {
    const { dir, sub } = project();
    expect(locate({ root: 'elsewhere', cwd: sub, env: { AIRLOCK_ROOT: '/ignored' } })).toMatchObject({ root: join(sub, 'elsewhere'), note: undefined });
    expect(locate({ cwd: sub, env: { AIRLOCK_ROOT: '/ws' } })).toMatchObject({ root: '/ws', specFile: join(dir, 'airlock.yaml'), note: undefined });
  });

  it('without a spec anywhere the workspace is the cwd, and a command needing one gets SPEC_NOT_FOUND', () => {
    const { sub } = project('');
    const where = locate({ cwd: sub, env: {} });
    expect(where).toEqual({ root: sub, specFile: undefined, note: undefined });
    let thrown: unknown;
    try {
      requireSpec(where, sub);
    } catch (e) {
      thrown = e;
    }
    expect(isAirlockError(thrown, 'SPEC_NOT_FOUND')).toBe(true);
    expect((thrown as Error).message).toMatch(/no airlock\.yaml or airlock\.yml in .* or any folder above it; name one with -f FILE or AIRLOCK_FILE/);
  });
});
