import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, writeKeyPair } from '../src/proof/keys.js';
import { busyboxSpec, REPO, sandbox, writeTree } from './helpers.js';

const BIN = join(REPO, 'bin/airlock');

/** airlock under GitHub Actions: the repository is `dir`, the summary a file in it that an earlier step began. */
async function underActions(dir: string, args: string[]) {
  const summary = join(dir, 'step-summary.md');
  await writeFile(summary, '# an earlier step\n');
  const keyPath = join(dir, 'key', 'signing.key');
  await writeKeyPair(generateSigningKey(), { privatePath: keyPath, locksDir: join(dir, 'locks') });
  const r = await execa('node', [BIN, ...args], {
    reject: false,
    cwd: dir,
    env: { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: dir, GITHUB_STEP_SUMMARY: summary, AIRLOCK_SIGNING_KEY: keyPath, CI: 'true', FORCE_COLOR: '0' },
  });
  return { ...r, summary: await readFile(summary, 'utf8') };
}

describe('GitHub Actions: annotations and the job summary', () => {
  it('a failed expectation is annotated at its spec line on stderr; --json stdout stays JSON; the summary is appended', async () => {
    const sb = await sandbox();
    sb.close();
    // line 9 is the step, line 12 its stdout expectation
    await writeTree(sb.dir, busyboxSpec('gh', '  e:\n    image: box\n    steps:\n      - name: greet\n        run: ["echo", "hi"]\n        expect:\n          stdout: { equals: "bye\\n" }\n'));
    expect((await readFile(join(sb.dir, 'airlock.yaml'), 'utf8')).split('\n')[11]).toBe('          stdout: { equals: "bye\\n" }');

    const r = await underActions(sb.dir, ['run', '--json']);
    expect(r.exitCode).toBe(1);
    // stdout: only the --json contract, one JSON object per line
    for (const line of r.stdout.trim().split('\n')) expect(() => JSON.parse(line), line).not.toThrow();
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'result', command: 'run', exitCode: 1, verdict: 'failed' });
    // stderr: the annotation, at the expectation's line of airlock.yaml (relative to GITHUB_WORKSPACE)
    const annotations = r.stderr.split('\n').filter((l) => l.startsWith('::'));
    expect(annotations).toHaveLength(1);
    expect(annotations[0]).toMatch(/^::error file=airlock\.yaml,line=12,col=19,title=airlock%3A e\/greet failed::stdout /);
    expect(annotations[0]).not.toMatch(/\n/);

    // the summary: appended after what was there, a row for the cell, the bundle and its verify command
    expect(r.summary.startsWith('# an earlier step\n### ❌ airlock: gh — FAIL (failed)\n')).toBe(true);
    const runId = JSON.parse(r.stdout.trim().split('\n').at(-1)!).runId as string;
    expect(r.summary).toMatch(/\| `e` \| ❌ failed \| ran \(first run\) \| \d+\.\d s \|/);
    expect(r.summary).toContain('- `e/greet`: stdout');
    expect(r.summary).toContain(`**Bundle**: \`proofs/${runId}\` — verified, signed by`);
    expect(r.summary).toContain(`\`\`\`sh\nairlock verify proofs/${runId}\n\`\`\``);
  });

  it('spec problems are annotated at file:line:col, and nothing is annotated outside GitHub Actions', async () => {
    const sb = await sandbox();
    sb.close();
    await writeTree(sb.dir, { 'airlock.yaml': 'version: 1\nname: bad\nimages:\n  box: { dockerfile: Dockerfile, context: . }\nenvironments:\n  e:\n    image: box\n    steps:\n      - run: 42\n' });
    const r = await underActions(sb.dir, ['run']);
    expect(r.exitCode).toBe(4);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('::'))).toEqual([
      expect.stringMatching(/^::error file=airlock\.yaml,line=9,col=\d+,title=airlock \[SPEC_INVALID\]::environments\.e\.steps\[0\]\.run: expected /),
    ]);
    expect(r.summary).toMatch(/^# an earlier step\n### ❌ airlock run: error \[SPEC_INVALID\]\n/);

    const plain = await execa('node', [BIN, 'run'], { reject: false, cwd: sb.dir, env: { GITHUB_ACTIONS: '' } });
    expect(plain.exitCode).toBe(4);
    expect(plain.stderr).not.toContain('::error');
  });
});
