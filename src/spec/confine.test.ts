import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../errors.js';
import { confine } from './confine.js';
import { parseSpec } from './load.js';
import type { SpecIssue } from './types.js';

let top: string;
let project: string;

beforeAll(async () => {
  top = await mkdtemp(join(tmpdir(), 'airlock-confine-'));
  project = join(top, 'project');
  await mkdir(join(project, 'golden'), { recursive: true });
  await mkdir(join(top, 'outside'));
  await writeFile(join(top, 'outside', 'secret.txt'), 'secret\n');
  await writeFile(join(project, 'Dockerfile'), 'FROM airlock/busybox\n');
  await writeFile(join(project, 'golden', 'ok.txt'), 'ok\n');
  await symlink(join(top, 'outside', 'secret.txt'), join(project, 'golden', 'leak.txt'));
  await symlink(join(top, 'outside'), join(project, 'ctx-link'));
  await symlink('golden', join(project, 'inside-link'));
  await symlink('loop-b', join(project, 'loop-a'));
  await symlink('loop-a', join(project, 'loop-b'));
});
afterAll(() => rm(top, { recursive: true, force: true }));

/** A spec in `project` whose image line (3) and golden file (9) are given. */
const spec = (image: string, golden = 'golden/ok.txt') =>
  [
    'version: 1',
    'name: p',
    `images: { box: ${image} }`,
    'environments:',
    '  e:',
    '    image: box',
    '    steps:',
    '      - run: "true"',
    `        expect: { stdout: { file: ${JSON.stringify(golden)} } }`,
    '',
  ].join('\n');

function issues(text: string): SpecIssue[] {
  try {
    parseSpec(text, join(project, 'airlock.yaml'));
  } catch (e) {
    expect(e).toBeInstanceOf(AirlockError);
    expect((e as AirlockError).code).toBe('SPEC_INVALID');
    expect((e as AirlockError).exitCode).toBe(4);
    return (e as AirlockError).details.issues as SpecIssue[];
  }
  throw new Error('expected the spec to be refused');
}

describe('spec paths never leave the project', () => {
  it('accepts paths inside, through symlinks that stay inside, and not-yet-existing ones', () => {
    expect(() => parseSpec(spec('{ dockerfile: Dockerfile, context: . }', 'inside-link/ok.txt'), join(project, 'airlock.yaml'))).not.toThrow();
    expect(confine(project, 'build/not-yet')).toMatchObject({ ok: true, at: { path: join(project, 'build/not-yet') } });
  });

  it.each([
    ['context: ../outside', '{ dockerfile: Dockerfile, context: ../outside }', 'images.box.context', 3, 'outside'],
    ['context through a symlink', '{ dockerfile: Dockerfile, context: ctx-link }', 'images.box.context', 3, 'outside'],
    ['dockerfile: ../../../../etc/shadow', '{ dockerfile: ../../../../etc/shadow }', 'images.box.dockerfile', 3, '/etc/shadow'],
  ])('refuses %s with its key, the resolved path and a position', (_, image, path, line, resolved) => {
    const found = issues(spec(image));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ path, line });
    expect(found[0]!.column).toBeGreaterThan(1);
    expect(found[0]!.message).toContain(resolved);
    expect(found[0]!.message).toContain('paths never leave the project');
  });

  it.each([
    ['/etc/shadow', '/etc/shadow'],
    ['../outside/secret.txt', 'outside/secret.txt'],
    ['golden/leak.txt', 'outside/secret.txt'],
  ])('refuses the golden file %s', (golden, resolved) => {
    if (!resolved.startsWith('/')) resolved = join(top, resolved);
    const found = issues(spec('{ dockerfile: Dockerfile }', golden));
    expect(found).toEqual([
      expect.objectContaining({ path: 'environments.e.steps[0].expect.stdout.file', line: 9, column: 35, message: expect.stringContaining(resolved) }),
    ]);
  });

  it('names a loop of symbolic links as a loop', () => {
    const found = issues(spec('{ dockerfile: Dockerfile, context: loop-a }'));
    expect(found).toEqual([expect.objectContaining({ path: 'images.box.context', message: expect.stringContaining('loop of symbolic links') })]);
  });

  it('accepts the default context "." (the project itself)', () => {
    expect(confine(project, '.')).toMatchObject({ ok: true, at: { path: project } });
  });
});
