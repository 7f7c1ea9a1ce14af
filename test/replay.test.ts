import { chmod, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAirlockError } from '../src/errors.js';
import { generateSigningKey, publicKeyToPem } from '../src/proof/keys.js';
import { parseTranscript } from '../src/proof/transcript.js';
import { exportBundle } from '../src/replay/export.js';
import { replayBundle, type ReplayOptions } from '../src/replay/replay.js';
import { silentReporter } from '../src/run/reporter.js';
import { runSpec, type RunResult } from '../src/run/run.js';
import { loadSpec } from '../src/spec/load.js';
import { sha256Hex } from '../src/util/digest.js';
import { openWorkspace, type Workspace } from '../src/run/workspace.js';
import { verifyBundle } from '../src/verify/index.js';
import { REPO, runIn, sandbox, writeTree, type Sandbox } from './helpers.js';

// Copy A of the repo makes the bundle, then loses its sources; copy B, at another path, replays it.
let a: Sandbox;
let b: Workspace;
let bDir: string;
let original: RunResult;

beforeAll(async () => {
  a = await sandbox();
  await cp(join(REPO, 'airlock.yaml'), join(a.dir, 'airlock.yaml'));
  await cp(join(REPO, 'examples/hello-c'), join(a.dir, 'examples/hello-c'), { recursive: true });
  // every environment of the root spec, as `make smoke` runs it: container, gVisor and VM cells
  original = await runIn(a, join(a.dir, 'airlock.yaml'));
  expect(original.verdict).toBe('passed');
  await rm(join(a.dir, 'examples'), { recursive: true });
  bDir = join(a.dir, 'second-copy');
  b = await openWorkspace(bDir);
});
afterAll(() => {
  b.close();
  a.close();
});

function options(bundleDir: string, extra: Partial<ReplayOptions> = {}): ReplayOptions {
  return {
    bundleDir,
    trustedKeys: [a.key],
    blobDirs: [a.workspace.artifactsDir],
    workspace: b,
    engine: a.engine,
    key: a.key,
    reporter: silentReporter,
    signal: new AbortController().signal,
    ...extra,
  };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
    expect.unreachable(`expected ${code}`);
  } catch (e) {
    expect(isAirlockError(e) ? e.code : String(e)).toBe(code);
  }
}

describe('airlock replay', () => {
  it('rebuilds and reruns a root-example bundle from what it recorded alone, elsewhere, and reproduces it', async () => {
    const r = await replayBundle(options(original.bundleDir));
    expect(r.report).toContain('REPRODUCED');
    expect(r.verdict).toBe('reproduced');
    expect(r.exitCode).toBe(0);
    expect(r.entries).toEqual([]);
    // at another path, from a fresh workspace, on the recorded bases, from inputs identical to the recorded ones
    expect(r.workspaceRoot.startsWith(a.dir)).toBe(false);
    expect(r.bases.map((x) => x.status)).toEqual(['match', 'match']);
    expect(r.inputs.map((i) => [i.what, i.same])).toEqual([
      ['spec', true],
      ['dockerfile', true],
      ['context', true],
      ['golden', true],
    ]);
    expect(r.comparison.steps.filter((s) => s.cell === 'smoke').map((s) => s.step)).toEqual(['hello', 'report', 'no-egress', 'sealed']);
    expect(new Set(r.comparison.steps.map((s) => s.cell))).toEqual(new Set(['smoke', 'smoke-gvisor', 'smoke-vm']));
    expect(r.comparison.steps.every((s) => s.differs.length === 0)).toBe(true);
    expect(r.comparison.outputs.map((o) => [o.path, o.same]).sort()).toEqual([
      ['smoke-gvisor/out/report.txt', true],
      ['smoke-vm/out/report.txt', true],
      ['smoke/out/report.txt', true],
    ]);

    // the replay's own bundle is kept with its blobs, verifies on its own, and names the original
    expect(r.replay.bundleDir.startsWith(b.proofsDir)).toBe(true);
    expect(r.replay.verified).toBe(true);
    await verifyBundle({ bundleDir: r.replay.bundleDir, trustedKeys: [a.key], blobDirs: [] });
    const events = parseTranscript(await readFile(join(r.replay.bundleDir, 'transcript.jsonl'), 'utf8'));
    expect(events.find((e) => e.phase === 'inputs')!.data.replayOf).toMatchObject({ runId: original.runId, envelopeDigest: r.original.envelopeDigest });
    const statement = JSON.parse(await readFile(join(r.replay.bundleDir, 'statement.json'), 'utf8'));
    expect(statement.predicate.buildDefinition.resolvedDependencies).toContainEqual(expect.objectContaining({ name: `replay-of:${original.runId}` }));
    // nothing of the temporary workspace is left
    expect((await readdir(join(r.workspaceRoot, '..')).catch(() => null))).toBeNull();
  });

  it('refuses a tampered bundle, an untrusted signer and a corrupt blob before running anything', async () => {
    const before = await readdir(b.proofsDir);
    const tampered = join(a.dir, 'tampered');
    await cp(original.bundleDir, tampered, { recursive: true });
    const text = await readFile(join(tampered, 'transcript.jsonl'), 'utf8');
    await writeFile(join(tampered, 'transcript.jsonl'), text.replace('"exitCode":0', '"exitCode":7'));
    await expectCode(replayBundle(options(tampered)), 'TRANSCRIPT_CHAIN_BROKEN');

    await expectCode(replayBundle(options(original.bundleDir, { trustedKeys: [generateSigningKey()] })), 'KEY_UNTRUSTED');

    const exported = join(a.dir, 'corrupt-export');
    await exportBundle({ bundleDir: original.bundleDir, outDir: exported, blobDirs: [a.workspace.artifactsDir] });
    const output = original.cells[0]!.outputs[0]!.digest.slice('sha256:'.length);
    const blob = join(exported, 'blobs/sha256', output);
    await chmod(blob, 0o644);
    await writeFile(blob, 'greeting=mallory\n');
    await expectCode(replayBundle(options(exported, { blobDirs: [] })), 'BLOB_DIGEST_MISMATCH');
    expect(await readdir(b.proofsDir)).toEqual(before);
  });

  it('`airlock export` writes a self-contained copy that `verify` and `replay` accept with no other blobs', async () => {
    const bin = join(REPO, 'bin/airlock');
    const keyFile = join(a.dir, 'signer.pub.pem');
    await writeFile(keyFile, publicKeyToPem(a.key));
    const out = join(a.dir, 'carried', 'bundle');
    const exp = await execa('node', [bin, 'export', original.bundleDir, out, '--key', keyFile, '--cas', a.workspace.artifactsDir, '--json'], { reject: false });
    expect(exp.exitCode, exp.stderr).toBe(0);
    expect(JSON.parse(exp.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'result', runId: original.runId, verified: true });
    expect((await readdir(join(out, 'blobs/sha256'))).length).toBeGreaterThan(5);

    // "another machine": a workspace with none of the original's CAS, an empty --cas
    const elsewhere = join(a.dir, 'elsewhere');
    await mkdir(join(elsewhere, 'empty-cas'), { recursive: true });
    const verify = await execa('node', [bin, 'verify', out, '--key', keyFile, '--cas', join(elsewhere, 'empty-cas')], { reject: false });
    expect(verify.exitCode, verify.stderr).toBe(0);
    const replay = await execa('node', [bin, 'replay', out, '--key', keyFile, '--cas', join(elsewhere, 'empty-cas'), '--root', elsewhere, '--json'], { reject: false, cwd: elsewhere });
    const result = JSON.parse(replay.stdout.trim().split('\n').at(-1)!);
    // on a mismatch, say what differed (the result carries every differing path with its cause)
    expect(result, `${replay.stderr}\n${JSON.stringify(result, null, 1).slice(0, 6000)}`).toMatchObject({ type: 'result', command: 'replay', verdict: 'reproduced', original: { runId: original.runId } });
    expect(replay.exitCode).toBe(0);
    expect(result.replay.bundleDir.startsWith(join(elsewhere, 'proofs'))).toBe(true);
  });

  it('a spec with a fetched input: `lock` pins it, the run fetches it, the replay takes it from the bundle, offline', async () => {
    const payload = 'input payload, pinned by sha256\n';
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/payload.txt' ? 200 : 404;
      res.end(req.url === '/payload.txt' ? payload : '');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/payload.txt`;
    const dir = join(a.dir, 'with-inputs');
    await writeTree(join(dir, 'src'), {
      Dockerfile: 'FROM airlock/busybox\nCOPY .airlock/inputs/payload.txt /payload.txt\n',
      'airlock.yaml': `version: 1
name: with-inputs
inputs:
  - { name: payload.txt, url: "${url}" }
images:
  box: { dockerfile: Dockerfile, context: . }
environments:
  show:
    image: box
    steps:
      - { name: copy, run: "cp /payload.txt /out/payload.txt" }
    outputs: ["/out"]
`,
    });
    const bin = join(REPO, 'bin/airlock');
    const spec = join(dir, 'src/airlock.yaml');
    const ws = join(dir, 'ws');
    try {
      const lock = await execa('node', [bin, 'lock', '--spec', spec, '--root', ws, '--json'], { reject: false });
      expect(lock.exitCode, lock.stderr + lock.stdout).toBe(0);
      const written = JSON.parse(await readFile(join(ws, 'locks/inputs.lock.json'), 'utf8'));
      expect(written.inputs['payload.txt']).toEqual({ url, sha256: sha256Hex(payload), size: payload.length });
      const frozen = await execa('node', [bin, 'fetch', '--spec', spec, '--root', ws, '--frozen', '--offline', '--json'], { reject: false });
      expect(frozen.exitCode, frozen.stderr + frozen.stdout).toBe(0);
      expect(JSON.parse(frozen.stdout.trim().split('\n').at(-1)!).inputs[0]).toMatchObject({ name: 'payload.txt', source: 'cache' });
      expect((await execa('node', [bin, 'lock', '--spec', spec, '--root', ws, '--frozen'], { reject: false })).exitCode).toBe(0);
    } finally {
      server.close();
    }

    const workspace = await openWorkspace(ws);
    let run: RunResult;
    try {
      run = await runSpec({ loaded: await loadSpec(spec), workspace, engine: a.engine, key: a.key, reporter: silentReporter, signal: new AbortController().signal, fetch: { offline: true } });
    } finally {
      workspace.close();
    }
    expect(run.verdict).toBe('passed');
    // the server is gone: the replay can only succeed from what the bundle carries
    const r = await replayBundle(options(run.bundleDir, { blobDirs: [join(ws, 'artifacts')] }));
    expect(r.entries).toEqual([]);
    expect(r.verdict).toBe('reproduced');
    expect(r.inputs.find((i) => i.what === 'context')).toMatchObject({ same: true });
    expect(r.comparison.outputs).toEqual([expect.objectContaining({ path: 'show/out/payload.txt', same: true })]);
  });
});
