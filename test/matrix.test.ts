import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_RUN } from '../src/engine/labels.js';
import { parseTranscript } from '../src/proof/transcript.js';
import { reportRun, writeReports } from '../src/run/reports.js';
import type { RunResult } from '../src/run/run.js';
import { verifyBundle } from '../src/verify/index.js';
import { REPO, runIn, sandbox, type Sandbox } from './helpers.js';

let sb: Sandbox;
let example: string;

beforeAll(async () => {
  sb = await sandbox();
  example = join(sb.dir, 'matrix');
  await cp(join(REPO, 'examples/matrix'), example, { recursive: true });
});
afterAll(() => sb.close());

const statuses = (r: RunResult) => r.cells.map((c) => c.status);
const events = async (r: RunResult) => parseTranscript(await readFile(join(r.bundleDir, 'transcript.jsonl'), 'utf8'));

async function noLeftovers(runId: string) {
  const filters = { label: [`${LABEL_RUN}=${runId}`] };
  expect(await sb.engine.containers.list(filters)).toEqual([]);
  expect(await sb.engine.networks.list(filters)).toEqual([]);
}

describe('the 12-cell matrix with two services per cell', () => {
  let cold: RunResult;

  it('runs every cell sealed, in parallel, with its services healthy on an internal network', async () => {
    cold = await runIn(sb, join(example, 'airlock.yaml'));
    expect(cold.error).toBeUndefined();
    expect(cold.cells).toHaveLength(12);
    expect(new Set(statuses(cold))).toEqual(new Set(['passed']));
    // 3 optimisation levels: 3 app builds shared by 4 cells each, plus the web service image
    expect(cold.images.map((i) => i.name).sort()).toEqual(['app', 'app', 'app', 'web']);
    const ev = await events(cold);
    expect(ev.filter((e) => e.phase === 'service')).toHaveLength(24);
    const networks = ev.filter((e) => e.phase === 'network');
    expect(networks).toHaveLength(12);
    for (const n of networks) expect((n.data.readback as { Internal: boolean }).Internal).toBe(true);
    // cells overlapped in time: the cell events interleave
    const order = ev.filter((e) => e.phase === 'cell').map((e) => `${e.data.state}`);
    expect(order.slice(0, 2)).toEqual(['started', 'started']);
    await verifyBundle({ bundleDir: cold.bundleDir, trustedKeys: [sb.key], blobDirs: [sb.workspace.artifactsDir] });
    await noLeftovers(cold.runId);

    // the provenance ties each environment and each cell to the rootfs digest of the image it ran in
    const rootfs = new Map(ev.filter((e) => e.phase === 'image').map((e) => [String(e.data.variant), String(e.data.rootfsDigest)]));
    const ranIn = new Map(ev.filter((e) => e.phase === 'cell' && e.data.state === 'started').map((e) => [String(e.data.cell), String(e.data.image)]));
    const { predicate } = JSON.parse(await readFile(join(cold.bundleDir, 'statement.json'), 'utf8'));
    for (const [variant, digest] of rootfs) {
      expect(predicate.buildDefinition.resolvedDependencies).toContainEqual(expect.objectContaining({ name: `image/${variant}`, digest: { sha256: digest.slice(7) } }));
    }
    const envs = predicate.runDetails.byproducts.filter((b: { name: string }) => b.name.startsWith('environment/'));
    expect(envs.length).toBeGreaterThan(0);
    let cells = 0;
    for (const env of envs) {
      for (const c of env.annotations['dev.airlock.cells'] as { cell: string; image: string; rootfsDigest: string }[]) {
        expect(c.image).toBe(ranIn.get(c.cell));
        expect(c.rootfsDigest).toBe(rootfs.get(c.image));
        cells++;
      }
      const images = env.annotations['dev.airlock.images'] as { variant: string; rootfsDigest: string }[];
      expect(images.length).toBeGreaterThan(0);
      for (const i of images) expect(i.rootfsDigest).toBe(rootfs.get(i.variant));
      // one variant: the environment itself is named by that digest
      if (images.length === 1) expect(env.digest).toEqual({ sha256: images[0]!.rootfsDigest.slice(7) });
    }
    expect(cells).toBe(12);
  });

  it('a second run is served from the cache, says so, and still verifies', async () => {
    const warm = await runIn(sb, join(example, 'airlock.yaml'));
    expect(new Set(statuses(warm))).toEqual(new Set(['cached']));
    expect(warm.cells.every((c) => c.cachedFrom?.runId === cold.runId)).toBe(true);
    const cached = (await events(warm)).filter((e) => e.phase === 'cell' && e.data.status === 'cached');
    expect(cached).toHaveLength(12);
    expect(cached[0]!.data.cachedFrom).toMatchObject({ runId: cold.runId, bundleDir: cold.bundleDir, transcriptSeq: expect.any(Number) });
    // the images were not rebuilt either: equal build inputs, same image, found through the build cache
    expect((await events(warm)).filter((e) => e.phase === 'build').every((e) => e.data.cached === true)).toBe(true);
    // outputs replayed as signed subjects
    expect(warm.cells.flatMap((c) => c.outputs)).toHaveLength(12);
    await verifyBundle({ bundleDir: warm.bundleDir, trustedKeys: [sb.key], blobDirs: [sb.workspace.artifactsDir] });
  });

  it('changing one build arg re-runs exactly the affected cells, and explain names the arg', async () => {
    const spec = await readFile(join(example, 'airlock.yaml'), 'utf8');
    await writeFile(join(example, 'changed.yaml'), spec.replace('extra: "-fno-inline" }', 'extra: "-fno-inline -g0" }'));
    const r = await runIn(sb, join(example, 'changed.yaml'));
    const rerun = r.cells.filter((c) => c.status === 'passed').map((c) => c.id);
    expect(rerun.sort()).toEqual(['test[n=10,opt=-O2]', 'test[n=100,opt=-O2]', 'test[n=1000,opt=-O2]', 'test[n=10000,opt=-O2]']);
    expect(r.cells.filter((c) => c.status === 'cached')).toHaveLength(8);
    const changed = r.cells.find((c) => c.id === 'test[n=10,opt=-O2]')!;
    expect(changed.missReason).toBe('inputs-changed');
    expect(changed.keyChanges!.map((k) => k.path)).toContain('buildArgs.EXTRA');

    const explained = await execa('node', [join(REPO, 'bin/airlock'), 'explain', 'n=10,opt=-O2', '--root', sb.dir, '--json'], { reject: false });
    expect(explained.exitCode).toBe(0);
    const out = JSON.parse(explained.stdout);
    expect(out).toMatchObject({ cell: 'test[n=10,opt=-O2]', cached: false, missReason: 'inputs-changed' });
    expect(out.changes).toContainEqual(expect.objectContaining({ path: 'buildArgs.EXTRA', old: '-fno-inline', new: '-fno-inline -g0' }));
  });

  it('failFast stops the rest on a failing cell, leaving nothing behind, with a JUnit failure and a red cell', async () => {
    const spec = (await readFile(join(example, 'airlock.yaml'), 'utf8'))
      .replace('expect: { stdout: { matches: "^sum=[0-9]+$" } }', 'expect: { stdout: { matches: "^sum=[0-9]{1,5}$" } }')
      .replace('maxParallel: 2', 'maxParallel: 1\n  failFast: true');
    await writeFile(join(example, 'failfast.yaml'), spec);
    const r = await runIn(sb, join(example, 'failfast.yaml'));
    expect(r.verdict).toBe('failed');
    expect(r.exitCode).toBe(1);
    // n=1000 gives sum=333833500 (9 digits): the first failing cell, then everything after it is cancelled
    const failed = r.cells.filter((c) => c.status === 'failed');
    expect(failed.length).toBe(1);
    expect(failed[0]!.steps[0]!.failures[0]!.message).toContain('does not match');
    expect(r.cells.filter((c) => c.status === 'skipped').length).toBeGreaterThan(0);
    await noLeftovers(r.runId);

    const report = await reportRun(r, 'matrix-demo', ['opt', 'n'], sb.workspace.cas, { verified: true });
    const { junit, html } = await writeReports(report, sb.workspace.cas);
    const lint = await execa('xmllint', ['--noout', '--schema', join(REPO, 'test/fixtures/junit/junit.xsd'), junit], { reject: false });
    expect(lint.exitCode, lint.stderr).toBe(0);
    const xml = await readFile(junit, 'utf8');
    expect(xml).toContain('<failure');
    expect(xml).toContain('does not match');
    const page = await readFile(html, 'utf8');
    expect(page.match(/<div class="cell [^"]*" data-testid="cell"/g)).toHaveLength(12);
    expect(page).toContain('data-status="failed"');
  });

  it('airlock matrix --cell runs one cell', async () => {
    const keyPath = join(sb.dir, 'cli-key', 'signing.key');
    const { writeKeyPair } = await import('../src/proof/keys.js');
    await writeKeyPair(sb.key, { privatePath: keyPath, locksDir: join(sb.dir, 'locks') });
    const r = await execa('node', [join(REPO, 'bin/airlock'), 'matrix', '--cell', 'n=10,opt=-O0', '--spec', join(example, 'airlock.yaml'), '--root', sb.dir, '--json'], {
      env: { AIRLOCK_SIGNING_KEY: keyPath },
      reject: false,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(result.cells.map((c: { id: string }) => c.id)).toEqual(['test[n=10,opt=-O0]']);
    expect(result.verified.verified).toBe(true);
  });
});
