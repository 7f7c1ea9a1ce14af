import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxSpec, REPO, writeTree } from './helpers.js';

// The engine the rest of the suite uses, reached here only through a docker context.
const ENGINE_SOCKET = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice(7) : '/var/run/docker.sock';

describe('engine chosen through a docker context', () => {
  let home: string;
  let project: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'airlock-ctx-home-'));
    project = join(home, 'project');
    // A socket path nothing else knows about, so a pass proves the context was followed.
    await symlink(ENGINE_SOCKET, join(home, 'engine.sock'));
    await addContext('via-link', `unix://${join(home, 'engine.sock')}`);
    await addContext('nowhere', `unix://${join(home, 'absent.sock')}`);
    await writeFile(join(home, '.docker', 'config.json'), JSON.stringify({ currentContext: 'via-link' }));
    await writeTree(project, busyboxSpec('ctx', `  hello:\n    image: box\n    steps:\n      - { name: hi, run: ["echo", "hi"], expect: { stdout: { equals: "hi\\n" } } }\n`));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  async function addContext(name: string, host: string): Promise<void> {
    const dir = join(home, '.docker', 'contexts', 'meta', createHash('sha256').update(name).digest('hex'));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }));
  }

  // Only HOME and PATH: no DOCKER_HOST, so the context decides.
  const airlock = (args: string[], extra: Record<string, string> = {}) =>
    execa('node', [join(REPO, 'bin/airlock'), ...args], { reject: false, cwd: project, extendEnv: false, env: { PATH: process.env.PATH ?? '', HOME: home, ...extra } });

  it('runs and verifies a cell on the current context’s engine', async () => {
    expect((await airlock(['keygen'])).exitCode).toBe(0);
    const r = await airlock(['run', '--json']);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(last, r.stderr).toMatchObject({ type: 'result', ok: true });
  });

  it('DOCKER_CONTEXT overrides the current context, and an unreachable one is named (exit 3)', async () => {
    const r = await airlock(['run', '--json'], { DOCKER_CONTEXT: 'nowhere' });
    expect(r.exitCode).toBe(3);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(last).toMatchObject({ code: 'ENGINE_UNAVAILABLE', message: expect.stringContaining('context "nowhere" (DOCKER_CONTEXT)') });
  });
});
