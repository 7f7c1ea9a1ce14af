import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBounded, type FileProblem } from './bounded-read.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-bounded-'));
  await writeFile(join(dir, 'small'), 'hello');
  await symlink('/dev/zero', join(dir, 'zero'));
  await symlink('small', join(dir, 'link'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

class Problem extends Error {
  constructor(readonly problem: FileProblem) {
    super(problem.message);
  }
}
const fail = (p: FileProblem) => new Problem(p);
const kind = (path: string, max = 100) => readBounded(join(dir, path), max, fail).then(() => 'read', (e: Problem) => e.problem.kind);

describe('readBounded', () => {
  it('reads a regular file within its bound', async () => {
    expect((await readBounded(join(dir, 'small'), 5, fail)).toString()).toBe('hello');
  });

  it.each([
    ['small', 4, 'too-big'],
    ['zero', 100, 'symlink'],
    ['link', 100, 'symlink'],
    ['fifo', 100, 'not-regular'],
    ['.', 100, 'not-regular'],
    ['absent', 100, 'missing'],
  ])('refuses %s (limit %i) as %s, without hanging', async (path, max, expected) => {
    expect(await kind(path, max)).toBe(expected);
  });

  it('refuses a device as not regular', async () => {
    await expect(readBounded('/dev/zero', 100, fail)).rejects.toMatchObject({ problem: { kind: 'not-regular', message: expect.stringContaining('character device') } });
  });
});
