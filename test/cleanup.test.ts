import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectGarbage } from '../src/engine/cleanup.js';
import { LABEL_MANAGED, LABEL_RUN } from '../src/engine/labels.js';
import { LEASE_TTL_MS } from '../src/store/ledger.js';
import { sha256Digest } from '../src/util/digest.js';
import { writeKeyPair } from '../src/proof/keys.js';
import { parseTranscript } from '../src/proof/transcript.js';
import { busyboxSpec, leftovers, REPO, sandbox, writeTree, type Sandbox } from './helpers.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await sandbox();
});
afterAll(() => sb.close());

async function runLabelled(runId: string) {
  const filters = { label: [`${LABEL_RUN}=${runId}`] };
  return sb.engine.containers.list(filters);
}

/**
 * Starts `airlock run --json` in a child process signing with the sandbox key, and
 * resolves once it reported `until` (its stdout keeps being read, so it never blocks).
 */
async function startRun(args: string[], until: string) {
  const keyPath = join(sb.dir, 'keys', 'signing.key');
  await writeKeyPair(sb.key, { privatePath: keyPath, locksDir: join(sb.dir, 'locks'), force: true });
  const child = spawn('node', [join(REPO, 'bin/airlock'), 'run', '--root', sb.dir, '--json', ...args], {
    env: { ...process.env, AIRLOCK_SIGNING_KEY: keyPath },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let runId: string | undefined;
  await new Promise<void>((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as { type: string; runId?: string };
      if (event.type === 'run-started') runId = event.runId;
      if (event.type === until) resolve();
    });
  });
  return { runId, child, exited };
}

describe('interrupting a run', () => {
  it('SIGINT removes the run’s containers, seals the bundle as interrupted and exits 130', async () => {
    const dir = join(sb.dir, 'interrupt');
    await writeTree(dir, busyboxSpec('interrupt', `  long:
    image: box
    steps:
      - name: wait
        run: ["sleep", "120"]
`));
    const { runId, child, exited } = await startRun(['--spec', join(dir, 'airlock.yaml')], 'env-started');
    expect(runId).toBeDefined();
    expect((await runLabelled(runId!)).length).toBe(1);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(await leftovers(sb.engine, runId!)).toBe(0);

    const bundleDir = join(sb.dir, 'proofs', runId!);
    const events = parseTranscript(await readFile(join(bundleDir, 'transcript.jsonl'), 'utf8'));
    expect(events.at(-1)!.data.verdict).toBe('interrupted');
    expect((await readdir(join(sb.dir, 'proofs'))).filter((n) => n.endsWith('.partial'))).toEqual([]);
    const run = sb.workspace.ledger.getRun(runId!);
    expect(run?.status).toBe('interrupted');
  });
});

describe('interrupting a matrix run with services', () => {
  it('SIGINT mid-matrix removes every cell, service and network of the run', async () => {
    const { runId, child, exited } = await startRun(['--spec', join(REPO, 'examples/matrix/airlock.yaml'), '--rerun'], 'service-ready');
    const filters = { label: [`${LABEL_RUN}=${runId}`] };
    expect((await sb.engine.networks.list(filters)).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(await leftovers(sb.engine, runId!)).toBe(0);
  });
});

describe('airlock gc', () => {
  const make = async (runId: string) => {
    const c = await sb.engine.containers.create({ Image: 'airlock/busybox', Cmd: ['true'], Labels: { [LABEL_MANAGED]: 'true', [LABEL_RUN]: runId } });
    return c.id;
  };
  const owned = () => ({ runs: sb.workspace.ledger.runLiveness(), images: sb.workspace.ledger.imageIds() });
  const spec = sha256Digest('spec');

  it('reaps what its own dead runs left, spares its live runs, and never touches another workspace’s', async () => {
    const ledger = sb.workspace.ledger;
    ledger.startRun({ id: 'gc-live', specName: 's', specDigest: spec });
    ledger.startRun({ id: 'gc-done', specName: 's', specDigest: spec });
    ledger.finishRun('gc-done', { status: 'passed', exitCode: 0 });
    ledger.startRun({ id: 'gc-stale', specName: 's', specDigest: spec });
    // a lease not renewed for longer than its TTL: dead even though this process (its pid) lives
    ledger.renewLease('gc-stale', new Date(Date.now() - LEASE_TTL_MS - 1000));
    const ids = { live: await make('gc-live'), done: await make('gc-done'), stale: await make('gc-stale'), foreign: await make('gc-other-workspace') };
    try {
      expect(ledger.markStaleRunsInterrupted()).toEqual(['gc-stale']);
      const removed = await collectGarbage(sb.engine, owned());
      expect(removed.containers.sort()).toEqual([ids.done, ids.stale].sort());
      expect(await leftovers(sb.engine, 'gc-live')).toBe(1);
      expect(await leftovers(sb.engine, 'gc-other-workspace')).toBe(1);
      // --all: every resource of this workspace, live or not; still nothing of another's
      const all = await collectGarbage(sb.engine, owned(), { all: true });
      expect(all.containers).toEqual([ids.live]);
      expect(await leftovers(sb.engine, 'gc-other-workspace')).toBe(1);
    } finally {
      ledger.finishRun('gc-live', { status: 'passed', exitCode: 0 });
      for (const id of Object.values(ids)) await sb.engine.containers.get(id).remove({ force: true }).catch(() => {});
    }
  });

  it('removes untagged images its own builds made, and nothing else', async () => {
    const dir = join(sb.dir, 'gc-images');
    const build = async (content: string, label: string) => {
      await writeTree(dir, { Dockerfile: `FROM airlock/busybox\nLABEL dev.airlock.spec=${label}\nRUN echo ${content} > /tmp/x\n` });
      const r = await execa('docker', ['build', '-q', '--network', 'none', '-t', `airlock-gc-test/${label}:latest`, dir]);
      return r.stdout.trim();
    };
    const old = await build('one', 'gc-test');
    const current = await build('two', 'gc-test');
    // another workspace's build, also untagged by a rebuild
    const foreign = await build('three', 'gc-other');
    await build('four', 'gc-other');
    sb.workspace.ledger.startRun({ id: 'gc-images', specName: 's', specDigest: spec });
    for (const [name, id] of [['a@1', old], ['a@2', current]]) sb.workspace.ledger.recordImage({ runId: 'gc-images', name: name!, imageId: id!, rootfsDigest: null, buildLogDigest: null, durationMs: 1 });
    sb.workspace.ledger.finishRun('gc-images', { status: 'passed', exitCode: 0 });
    const removed = await collectGarbage(sb.engine, owned());
    expect(removed.images).toContain(old);
    expect(removed.images).not.toContain(current);
    expect(removed.images).not.toContain(foreign);
    expect(await sb.engine.images.inspect(current)).toMatchObject({ Id: current });
    expect(await sb.engine.images.inspect(foreign)).toMatchObject({ Id: foreign });
    await sb.engine.images.remove(current, { force: true });
    await sb.engine.images.remove(foreign, { force: true });
    await execa('docker', ['rmi', '-f', 'airlock-gc-test/gc-other:latest'], { reject: false });
  });
});

describe('concurrent runs in one project', () => {
  it('four simultaneous runs with large build contexts all pass and seal bundles that verify', async () => {
    const dir = join(sb.dir, 'concurrent');
    await writeTree(dir, busyboxSpec('concurrent', `  c:\n    image: box\n    steps:\n      - { name: ls, run: ["ls", "/"] }\n`));
    // tens of MB of context: each run spends a while writing its context tar in artifacts/tmp/
    await writeFile(join(dir, 'blob.bin'), randomBytes(24 * 1024 * 1024));
    const keyPath = join(sb.dir, 'keys', 'signing.key');
    await writeKeyPair(sb.key, { privatePath: keyPath, locksDir: join(sb.dir, 'locks'), force: true });
    const runs = await Promise.all(
      [0, 1, 2, 3].map(() =>
        execa('node', [join(REPO, 'bin/airlock'), 'run', '--root', sb.dir, '--spec', join(dir, 'airlock.yaml'), '--rerun', '--json'], {
          reject: false,
          env: { AIRLOCK_SIGNING_KEY: keyPath },
        }),
      ),
    );
    for (const r of runs) {
      expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
      expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'result', verdict: 'passed', verified: { verified: true } });
    }
  });

  it('gc removes the unsealed bundle folder of a dead run, not a live one’s', async () => {
    const ledger = sb.workspace.ledger;
    ledger.startRun({ id: 'partial-live', specName: 's', specDigest: sha256Digest('spec') });
    const proofs = join(sb.dir, 'proofs');
    await mkdir(join(proofs, '.partial-dead.partial'), { recursive: true });
    await mkdir(join(proofs, '.partial-live.partial'), { recursive: true });
    try {
      const r = await execa('node', [join(REPO, 'bin/airlock'), 'gc', '--root', sb.dir, '--json'], { reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!).partialBundles).toEqual(['partial-dead']);
      expect((await readdir(proofs)).filter((n) => n.endsWith('.partial'))).toEqual(['.partial-live.partial']);
    } finally {
      ledger.finishRun('partial-live', { status: 'passed', exitCode: 0 });
      await rm(join(proofs, '.partial-live.partial'), { recursive: true, force: true });
    }
  });
});
