import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AirlockError } from '../errors.js';
import type { CellOutcome } from '../run/cell.js';
import { parseSpec } from '../spec/load.js';
import {
  annotationLine,
  appendSummary,
  errorAnnotations,
  escapeData,
  escapeProperty,
  gitHubActions,
  repoPath,
  runAnnotations,
  summaryMarkdown,
  type CiRun,
} from './github.js';

describe('workflow-command escaping', () => {
  it('escapes %, CR and LF in a message, % first', () => {
    expect(escapeData('100% done\r\nnext: a,b')).toBe('100%25 done%0D%0Anext: a,b');
    expect(escapeData('%0A')).toBe('%250A');
  });

  it('escapes : and , too in a property value', () => {
    expect(escapeProperty('a:b,c%\n')).toBe('a%3Ab%2Cc%25%0A');
  });
});

describe('annotationLine', () => {
  it('writes file, line, col and title in that order, message after ::', () => {
    expect(annotationLine({ file: 'airlock.yaml', line: 12, col: 9, title: 'airlock: smoke/hello failed', message: 'stdout differs\n--- a\n+++ b' })).toBe(
      '::error file=airlock.yaml,line=12,col=9,title=airlock%3A smoke/hello failed::stdout differs%0A--- a%0A+++ b',
    );
  });

  it('leaves out what is not known, and takes other levels', () => {
    expect(annotationLine({ message: 'no engine' })).toBe('::error::no engine');
    expect(annotationLine({ title: 'x,y', message: 'm' }, 'warning')).toBe('::warning title=x%2Cy::m');
  });
});

describe('gitHubActions and paths', () => {
  it('is on only with GITHUB_ACTIONS=true; root is GITHUB_WORKSPACE, else the working directory', () => {
    expect(gitHubActions({}, '/w')).toBeUndefined();
    expect(gitHubActions({ GITHUB_ACTIONS: 'false' }, '/w')).toBeUndefined();
    expect(gitHubActions({ GITHUB_ACTIONS: 'true' }, '/w')).toEqual({ root: '/w' });
    expect(gitHubActions({ GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: '/repo', GITHUB_STEP_SUMMARY: '/s.md' }, '/w')).toEqual({ root: '/repo', summaryFile: '/s.md' });
  });

  it('makes paths relative to the repository root, none outside it', () => {
    expect(repoPath('/repo', '/repo/examples/x/airlock.yaml')).toBe('examples/x/airlock.yaml');
    expect(repoPath('/repo', '/elsewhere/airlock.yaml')).toBeUndefined();
    expect(repoPath('/repo', '/repo')).toBeUndefined();
  });
});

describe('errorAnnotations', () => {
  it('annotates each spec problem at its file, line and column', () => {
    const err = new AirlockError('SPEC_INVALID', 'airlock.yaml: 2 problems', {
      details: {
        file: '/repo/airlock.yaml',
        issues: [
          { path: 'environments.e.steps[0].run', line: 9, column: 14, message: 'expected an argv array, got number' },
          { path: '', line: 1, column: 1, message: 'the file is empty' },
        ],
      },
    });
    expect(errorAnnotations(err, '/repo').map((a) => annotationLine(a))).toEqual([
      '::error file=airlock.yaml,line=9,col=14,title=airlock [SPEC_INVALID]::environments.e.steps[0].run: expected an argv array, got number',
      '::error file=airlock.yaml,line=1,col=1,title=airlock [SPEC_INVALID]::the file is empty',
    ]);
  });

  it('names the position in the message when the spec is outside the repository', () => {
    const err = new AirlockError('SPEC_YAML', 'bad', { details: { file: '/tmp/a.yaml', issues: [{ path: '', line: 2, column: 3, message: 'bad indent' }] } });
    expect(errorAnnotations(err, '/repo')).toEqual([{ title: 'airlock [SPEC_YAML]', message: '/tmp/a.yaml:2:3: bad indent' }]);
  });

  it('annotates any other error once, without a file', () => {
    expect(errorAnnotations(new AirlockError('ENGINE_UNAVAILABLE', 'no engine at unix:///var/run/docker.sock'), '/repo')).toEqual([
      { title: 'airlock [ENGINE_UNAVAILABLE]', message: 'no engine at unix:///var/run/docker.sock' },
    ]);
  });
});

const SPEC = `version: 1
name: demo
images:
  box: { dockerfile: Dockerfile, context: . }
environments:
  e:
    image: box
    steps:
      - name: first
        run: ["true"]
      - name: hello
        run: ["echo", "hi"]
        expect:
          exit: 0
          stdout: { equals: "bye\\n" }
      - name: slow
        run: ["sleep", "9"]
`;

async function demoRun(cells: CellOutcome[], over: Partial<CiRun> = {}): Promise<CiRun> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-gh-'));
  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n');
  const loaded = parseSpec(SPEC, join(dir, 'airlock.yaml'));
  return {
    loaded,
    workspaceRoot: dir,
    runId: '20250101T000000Z-abcd',
    bundleDir: join(dir, 'proofs', '20250101T000000Z-abcd'),
    cells,
    durationMs: 4200,
    check: { verified: true, keyid: 'k1' },
    reports: { junit: join(dir, 'proofs', '20250101T000000Z-abcd', 'junit.xml'), html: join(dir, 'proofs', '20250101T000000Z-abcd', 'report.html') },
    verdictLine: 'FAIL (failed)',
    ...over,
  };
}

const step = (name: string, verdict: 'pass' | 'fail' | 'timeout' | 'skipped', failures: { what: 'exit' | 'stdout' | 'stderr' | 'timeout'; message: string; diff?: string }[] = []) => ({
  name,
  verdict,
  exitCode: verdict === 'pass' ? 0 : 1,
  timedOut: verdict === 'timeout',
  durationMs: 10,
  failures,
});

describe('runAnnotations', () => {
  it('puts a failed expectation at its line in the spec, a timeout without `timeout:` at the step', async () => {
    const run = await demoRun([
      {
        id: 'e',
        env: 'e',
        status: 'failed',
        durationMs: 1500,
        outputs: [],
        steps: [step('first', 'pass'), step('hello', 'fail', [{ what: 'stdout', message: 'stdout differs from the expected text', diff: '-bye\n+hi' }]), step('slow', 'timeout', [{ what: 'timeout', message: 'timed out after 1s' }])],
        missReason: 'first-run',
      },
    ]);
    const lines = runAnnotations(run, run.workspaceRoot).map((a) => annotationLine(a));
    expect(lines).toEqual([
      '::error file=airlock.yaml,line=15,col=19,title=airlock%3A e/hello failed::stdout differs from the expected text%0A-bye%0A+hi',
      '::error file=airlock.yaml,line=16,col=9,title=airlock%3A e/slow timed out::timed out after 1s',
    ]);
  });

  it('an exit failure with no `exit:` written points at `expect`, or at the step without one', async () => {
    const run = await demoRun([{ id: 'e', env: 'e', status: 'failed', durationMs: 1, outputs: [], steps: [step('first', 'fail', [{ what: 'exit', message: 'exit 1, expected 0' }])] }]);
    expect(runAnnotations(run, run.workspaceRoot)[0]).toMatchObject({ file: 'airlock.yaml', line: 9, col: 9 });
  });

  it('annotates a cell error at its environment and a bundle that did not verify', async () => {
    const error = new AirlockError('POLICY_NOT_APPLIED', 'the engine did not apply ReadonlyRootfs');
    const run = await demoRun([{ id: 'e', env: 'e', status: 'error', durationMs: 1, outputs: [], steps: [], error }], {
      error,
      check: { verified: false, code: 'KEY_UNTRUSTED', problem: '[KEY_UNTRUSTED] signed by k2' },
    });
    expect(runAnnotations(run, run.workspaceRoot)).toEqual([
      { title: 'airlock: cell e [POLICY_NOT_APPLIED]', file: 'airlock.yaml', line: 7, col: 5, message: 'the engine did not apply ReadonlyRootfs' },
      { title: 'airlock: bundle not verified [KEY_UNTRUSTED]', message: '[KEY_UNTRUSTED] signed by k2' },
    ]);
  });

  it('has nothing to say of a run that passed and verified', async () => {
    const run = await demoRun([{ id: 'e', env: 'e', status: 'passed', durationMs: 1, outputs: [], steps: [step('first', 'pass')] }], { verdictLine: 'PASS' });
    expect(runAnnotations(run, run.workspaceRoot)).toEqual([]);
  });
});

describe('summaryMarkdown', () => {
  it('a table of cells with verdict, cache and duration; the failed steps; the bundle and how to verify it', async () => {
    const run = await demoRun([
      { id: 't[opt=-O2]', env: 'e', matrix: { opt: '-O2' }, status: 'cached', durationMs: 30, outputs: [], steps: [], cachedFrom: { runId: 'R0', bundleDir: '/x', transcriptSeq: 3 } },
      { id: 't[opt=a|b]', env: 'e', status: 'failed', durationMs: 1500, outputs: [], steps: [step('hello', 'fail', [{ what: 'stdout', message: 'stdout differs' }])], missReason: 'inputs-changed' },
    ]);
    const md = summaryMarkdown(run, run.workspaceRoot);
    expect(md).toBe(`### ❌ airlock: demo — FAIL (failed)

Run \`20250101T000000Z-abcd\` of \`airlock.yaml\` in 4.2 s.

| cell | verdict | cache | duration |
| :-- | :-- | :-- | --: |
| \`t[opt=-O2]\` | ✅ cached | hit (from run \`R0\`) | 0.0 s |
| \`t[opt=a\\|b]\` | ❌ failed | ran (inputs changed: \`airlock explain t[opt=a\\|b]\`) | 1.5 s |

**Failed steps**

- \`t[opt=a|b]/hello\`: stdout differs

**Bundle**: \`proofs/20250101T000000Z-abcd\` — verified, signed by \`k1\`

**Reports**: \`proofs/20250101T000000Z-abcd/junit.xml\` (JUnit) · \`proofs/20250101T000000Z-abcd/report.html\` (HTML)

Verify the bundle offline (no engine, no network):

\`\`\`sh
airlock verify proofs/20250101T000000Z-abcd
\`\`\`

`);
  });

  it('names the workspace with --root when it is not the repository root', async () => {
    const run = await demoRun([], { verdictLine: 'PASS' });
    const md = summaryMarkdown(run, join(run.workspaceRoot, '..'));
    const name = run.workspaceRoot.split('/').at(-1)!;
    expect(md).toContain(`airlock verify ${name}/proofs/20250101T000000Z-abcd --root ${name}\n`);
    expect(md.startsWith('### ✅ airlock: demo — PASS')).toBe(true);
  });

  it('is appended to the summary file, never overwriting it', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'airlock-gh-')), 'summary.md');
    await writeFile(file, '# earlier step\n');
    await appendSummary(file, 'one\n');
    await appendSummary(file, 'two\n');
    expect(await readFile(file, 'utf8')).toBe('# earlier step\none\ntwo\n');
  });
});
