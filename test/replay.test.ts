import { chmod, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAirlockError } from '../src/errors.js';
import { generateSigningKey, publicKeyToPem } from '../src/proof/keys.js';
import { parseTranscript } from '../src/proof/transcript.js';
import { exportBundle } from '../src/replay/export.js';
import { replayBundle, type ReplayOptions } from '../src/replay/replay.js';
import { silentReporter } from '../src/run/reporter.js';
import type { RunResult } from '../src/run/run.js';
import { openWorkspace, type Workspace } from '../src/run/workspace.js';
import { verifyBundle } from '../src/verify/index.js';
import { REPO, runIn, sandbox, type Sandbox } from './helpers.js';

// Copy A of the repo makes the bundle, then loses its sources; copy B, at another path, replays it.
let a: Sandbox;
let b: Workspace;
let bDir: string;
let original: RunResult;

beforeAll(async () => {
  a = await sandbox();
  await cp(join(REPO, 'airlock.yaml'), join(a.dir, 'airlock.yaml'));
  await cp(join(REPO, 'examples/hello-c'), join(a.dir, 'examples/hello-c'), { recursive: true });
  // the gVisor environment prints a different dmesg every boot: replay the deterministic one
  original = await runIn(a, join(a.dir, 'airlock.yaml'), { environments: ['smoke'] });
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
    docker: a.docker,
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
    expect(r.comparison.steps.map((s) => s.step)).toEqual(['hello', 'report', 'no-egress', 'sealed']);
    expect(r.comparison.outputs).toEqual([expect.objectContaining({ path: 'smoke/out/report.txt', same: true })]);

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
    expect(result, replay.stderr).toMatchObject({ type: 'result', command: 'replay', verdict: 'reproduced', original: { runId: original.runId } });
    expect(replay.exitCode).toBe(0);
    expect(result.replay.bundleDir.startsWith(join(elsewhere, 'proofs'))).toBe(true);
  });
});
