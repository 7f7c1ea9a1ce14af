import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSpec } from '../spec/load.js';
import { planRun } from './plan.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-plan-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const spec = (image: string) =>
  parseSpec(`version: 1\nname: p\nimages: { box: ${image} }\nenvironments:\n  e: { image: box, steps: [ { run: "true" } ] }\n`, join(dir, 'airlock.yaml'));

describe('planRun', () => {
  it('says a Dockerfile without FROM is not a Dockerfile, not "stage undefined"', async () => {
    await writeFile(join(dir, 'NotADockerfile'), 'hello: world\n');
    const plan = planRun(spec('{ dockerfile: NotADockerfile }'));
    await expect(plan).rejects.toMatchObject({ code: 'SPEC_INVALID', message: expect.stringContaining('has no FROM instruction') });
    await expect(plan).rejects.not.toMatchObject({ message: expect.stringContaining('undefined') });
  });

  it('re-checks confinement when it reads the Dockerfile (a symlink swapped in after loading)', async () => {
    await writeFile(join(dir, 'Dockerfile'), 'FROM airlock/busybox\n');
    const loaded = spec('{ dockerfile: Dockerfile }');
    await expect(planRun(loaded)).resolves.toMatchObject({ variants: [expect.objectContaining({ name: 'box' })] });
    await rm(join(dir, 'Dockerfile'));
    await symlink('/etc/hostname', join(dir, 'Dockerfile'));
    await expect(planRun(loaded)).rejects.toMatchObject({ code: 'SPEC_INVALID', message: expect.stringContaining('outside the project') });
  });
});
