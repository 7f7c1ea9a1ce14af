/**
 * airlock on Podman, through its Docker-compatible API: a private `podman system service`
 * (its own socket, storage and configuration under a temp folder: scripts/podman-service.sh),
 * the bases made there, the smoke example's container cell run with DOCKER_HOST pointing at
 * it, its bundle verified, and an image built with a RUN step measuring the same normalized
 * rootfs digest on Podman as on Docker. Skipped, saying why, only where podman is missing
 * (scripts/setup.sh installs it wherever it can: root on Debian).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinBases, BUSYBOX_REF } from '../src/base/catalog.js';
import { ensureBases } from '../src/base/ensure.js';
import { BASE_LOCK_FILE, readBaseLock } from '../src/base/lock.js';
import { buildImage } from '../src/engine/build.js';
import { connectEngine, engineInfo } from '../src/engine/client.js';
import type { Engine } from '../src/engine/engine.js';
import { LABEL_ROOTFS } from '../src/engine/labels.js';
import { measureImage } from '../src/engine/measure.js';
import { parseTranscript } from '../src/proof/transcript.js';
import { REPO, repoCas } from './helpers.js';

const SCRIPT = join(REPO, 'scripts/podman-service.sh');
const BIN = join(REPO, 'bin/airlock');
const BUILD_BASE = 'airlock/debian:bookworm-build';

const probe = await execa('podman', ['--version'], { reject: false });
const SKIP = probe.exitCode === 0 ? undefined : `podman is not installed and scripts/setup.sh could not install it here (${probe.stderr || probe.message})`;
if (SKIP) console.warn(`test/podman.test.ts skipped: ${SKIP}`);

const lockedDigest = async (ref: string) => (await readBaseLock(join(REPO, 'locks', BASE_LOCK_FILE))).bases[ref]!.rootfsDigest;

/** An image from one engine to another through their APIs (`docker save | podman load`), by its id. */
async function moveImage(from: Engine, to: Engine, ref: string): Promise<void> {
  await to.images.load(await from.images.save(ref));
  expect((await to.images.inspect(ref)).Id).toBe((await from.images.inspect(ref)).Id);
}

describe.skipIf(SKIP !== undefined)('airlock on Podman (Docker-compatible API)', () => {
  const docker = connectEngine();
  let dir: string | undefined;
  let pid: number | undefined;
  let host: string;
  let podman: Engine;
  let work: string;
  const removeFromDocker: string[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'airlock-podman-work-'));
    dir = await mkdtemp(join(tmpdir(), 'airlock-podman-'));
    const started = await execa('bash', [SCRIPT, 'start', dir]);
    pid = Number(await readFile(join(dir, 'podman.pid'), 'utf8'));
    host = started.stdout.trim().replace(/^DOCKER_HOST=/, '');
    podman = connectEngine({ DOCKER_HOST: host });
  }, 60_000);

  afterAll(async () => {
    for (const id of removeFromDocker) await docker.images.remove(id, { force: true }).catch(() => undefined);
    if (dir) {
      const stopped = await execa('bash', [SCRIPT, 'stop', dir], { reject: false });
      // the script stops it by its pid; should it have failed, the pid is ours to end
      if (pid && existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
      if (existsSync(dir)) throw new Error(`podman-service.sh stop left ${dir}: ${stopped.stderr}`);
    }
    await rm(work, { recursive: true, force: true });
  }, 60_000);

  it('answers as podman, and gets the bases as their locks say', async () => {
    expect(await engineInfo(podman)).toMatchObject({ product: 'podman', defaultRuntime: expect.stringMatching(/^(runc|crun)$/) });
    // airlock's own way when an engine lacks a base: built there from its locked files (busybox: seconds)
    const [busybox] = await ensureBases(podman, { cas: await repoCas(), recipes: builtinBases().filter((b) => b.ref === BUSYBOX_REF), offline: true });
    expect(busybox).toMatchObject({ outcome: 'built', rootfsDigest: await lockedDigest(BUSYBOX_REF) });
    // the toolchain base would take mmdebstrap minutes: moved from the suite's engine, then re-measured here
    await moveImage(docker, podman, BUILD_BASE);
    const [build] = await ensureBases(podman, { cas: await repoCas(), recipes: builtinBases().filter((b) => b.ref === BUILD_BASE), offline: true });
    expect(build).toMatchObject({ outcome: 'present' });
    for (const ref of [BUSYBOX_REF, BUILD_BASE]) {
      const labelled = (await podman.images.inspect(ref)).Config?.Labels?.[LABEL_ROOTFS];
      expect(labelled, ref).toBe(await lockedDigest(ref));
      expect((await measureImage(podman, ref, 'podman-test')).digest, ref).toBe(labelled);
    }
  });

  it('runs the smoke example’s container cell there, PASS, and its bundle verifies', async () => {
    const ws = join(work, 'ws');
    await mkdir(ws, { recursive: true });
    const env = { ...process.env, DOCKER_HOST: host, DOCKER_CONTEXT: '', AIRLOCK_SIGNING_KEY: join(work, 'signing.key') };
    const cli = (args: string[]) => execa('node', [BIN, ...args, '--root', ws], { reject: false, cwd: work, env });
    expect((await cli(['keygen'])).exitCode).toBe(0);

    const run = await cli(['run', '-f', join(REPO, 'airlock.yaml'), 'smoke', '--json']);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, any>;
    expect(result, run.stderr).toMatchObject({ type: 'result', command: 'run', ok: true, exitCode: 0, verdict: 'passed', verified: { verified: true } });

    const verify = await cli(['verify', result.bundleDir as string]);
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(verify.stdout.trim().split('\n').at(-1)).toBe('PASS');

    const events = parseTranscript(await readFile(join(result.bundleDir as string, 'transcript.jsonl'), 'utf8'));
    const environment = events.find((e) => e.phase === 'environment')!;
    expect(environment.data.engine).toMatchObject({ product: 'podman', version: expect.stringMatching(/^4\./), defaultRuntime: expect.stringMatching(/^(runc|crun)$/) });
    // what Podman read back, as it spells it, accepted by meaning and kept as it was
    const hc = events.find((e) => e.phase === 'container')!.data.hostConfig as Record<string, any>;
    expect(hc.CapDrop).toEqual(expect.arrayContaining(['NET_RAW', 'SYS_CHROOT']));
    expect(hc.CapDrop).not.toContain('ALL');
    expect(hc.CapAdd).toEqual([]);
    expect(hc.Runtime).toBe('oci');
    expect(Object.keys(hc.Tmpfs as object).sort()).toEqual(['/out', '/run', '/tmp', '/var/tmp']);
    const steps = events.filter((e) => e.phase === 'step').map((e) => [e.data.name, e.data.verdict]);
    expect(steps).toEqual([['hello', 'pass'], ['report', 'pass'], ['no-egress', 'pass'], ['sealed', 'pass']]);
  });

  it('measures an image built with a RUN step as Docker does: buildah’s bare /run mount point left out, nothing else', async () => {
    const context = join(work, 'probe');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'Dockerfile'), 'FROM airlock/busybox\nRUN echo hi > /hello\n');
    const tarPath = join(work, 'probe.tar');
    await execa('tar', ['-C', context, '-cf', tarPath, 'Dockerfile']);
    const tag = `airlock-podman-test/probe:${process.pid}`;
    const build = (engine: Engine) => buildImage(engine, { contextTar: tarPath, dockerfile: 'Dockerfile', args: {}, labels: {}, tag });

    const onDocker = await build(docker);
    removeFromDocker.push(onDocker.imageId);
    const onPodman = await build(podman);
    const [d, p] = [await measureImage(docker, onDocker.imageId, 'podman-test'), await measureImage(podman, onPodman.imageId, 'podman-test')];
    expect(p.digest).toBe(d.digest);
    expect(p.listing.toString()).toContain('"path":"hello"');

    // the mount point is really there in Podman's image, only the digest leaves it out
    const container = await podman.containers.create({ Image: onPodman.imageId, Entrypoint: ['/nonexistent'], HostConfig: { NetworkMode: 'none' } });
    try {
      const paths = (await execa('tar', ['-t'], { input: await streamToBuffer(await container.export()) })).stdout.split('\n');
      expect(paths).toContain('run/');
    } finally {
      await container.remove({ force: true });
    }
  });
});

async function streamToBuffer(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}
