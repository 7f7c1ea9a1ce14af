import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../proof/canonical-json.js';
import { cellPassed, cellStarted, containerEvent, imageEvent, inputsEvent } from '../report/testing/events.js';
import { Cas } from '../store/cas.js';
import { sha256Digest } from '../util/digest.js';
import { reportRun, writeReports } from './reports.js';
import type { RunResult } from './run.js';

const dirs: string[] = [];
afterEach(() => Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true }))));

const SBOM = canonicalJson({
  spdxVersion: 'SPDX-2.3',
  packages: [
    { SPDXID: 'SPDXRef-Image', name: 'airlock/busybox', primaryPackagePurpose: 'CONTAINER' },
    { SPDXID: 'SPDXRef-Package-1-busybox-static', name: 'busybox-static', versionInfo: '1:1.35.0-4+b3' },
  ],
});

/** A sealed-looking bundle in a fresh project under the temp dir: a transcript, blobs in the CAS, a run result naming both. */
async function project() {
  const root = await mkdtemp(join(tmpdir(), 'airlock-reports-'));
  dirs.push(root);
  const cas = await Cas.open(join(root, 'artifacts'));
  const bundleDir = join(root, 'proofs', 'r1');
  await mkdir(bundleDir, { recursive: true });
  const stdout = await cas.put(Buffer.from(`built in ${root}/src\n`));
  const output = await cas.put(Buffer.from('report\n'));
  const sbom = await cas.put(Buffer.from(SBOM));
  const events = [
    inputsEvent([{ ref: 'airlock/busybox', sbom: SBOM }]),
    imageEvent('app@1', 'app'),
    cellStarted('t', 'app@1'),
    containerEvent('t'),
    cellPassed('t', [{ path: '/out', entries: [{ path: 'report.txt', type: 'file', mode: 420, size: output.size, digest: output.digest }] }]),
  ];
  await writeFile(join(bundleDir, 'transcript.jsonl'), events.map((e) => `${canonicalJson(e)}\n`).join(''));
  await writeFile(join(bundleDir, 'statement.json'), '{}');
  const result: RunResult = {
    runId: 'r1',
    bundleDir,
    verdict: 'failed',
    exitCode: 1,
    images: [],
    cells: [
      {
        id: 't',
        env: 't',
        status: 'failed',
        durationMs: 5,
        outputs: [],
        steps: [
          {
            name: 'build',
            verdict: 'fail',
            exitCode: 0,
            timedOut: false,
            durationMs: 5,
            failures: [{ what: 'stdout', message: `stdout differs from golden file ${root}/golden/out.txt` }],
            stdout,
          },
        ],
      },
    ],
    durationMs: 10,
    startedAt: new Date('2025-01-02T03:04:05Z'),
  };
  return { root, cas, bundleDir, result, stdout, output, sbom };
}

const hrefs = (html: string) => [...html.matchAll(/\shref="([^"#][^"]*)"/g)].map((m) => m[1]!);
const exists = (p: string) => stat(p).then((s) => s.isFile(), () => false);

describe('reportRun and writeReports', () => {
  it('write a page with no path of the machine, whose links all resolve beside it, also after the folder moves', async () => {
    const p = await project();
    const run = await reportRun(p.result, 'demo', [], p.cas, { verified: true, keyid: 'k1' });
    expect(run.bundle).toMatchObject({ dir: 'proofs/r1', verified: true, keyid: 'k1', checkedBy: expect.stringMatching(/^airlock \S+, in the command that sealed the run$/) });
    expect(Date.parse(run.bundle.checkedAt!)).toBeGreaterThan(Date.parse('2025-01-01'));
    const { html } = await writeReports(run, p.cas);
    expect(html).toBe(join(p.bundleDir, 'report.html'));
    const page = await readFile(html, 'utf8');

    expect(page).not.toContain(p.root);
    expect(page).toContain('stdout differs from golden file golden/out.txt');
    expect(page).toContain('built in src');
    expect(page).toContain('data-isolation="container"');
    expect(page).toContain('<tr data-testid="package"><td><code>busybox-static</code></td><td><code>1:1.35.0-4+b3</code></td></tr>');

    const links = hrefs(page);
    for (const d of [p.stdout.digest, p.output.digest, p.sbom.digest]) expect(links).toContain(`report-files/sha256/${d.slice(7)}`);
    expect(links).toEqual(expect.arrayContaining(['transcript.jsonl', 'statement.json', 'junit.xml']));
    expect(links).not.toContain('envelope.dsse.json'); // not in this bundle: not linked
    for (const l of links) expect(await exists(join(p.bundleDir, l)), l).toBe(true);
    expect(await readFile(join(p.bundleDir, 'report-files', 'sha256', p.output.digest.slice(7)), 'utf8')).toBe('report\n');

    const moved = join(await mkdtemp(join(tmpdir(), 'airlock-moved-')), 'elsewhere', 'r1');
    dirs.push(dirname(dirname(moved)));
    await cp(p.bundleDir, moved, { recursive: true });
    await rm(p.root, { recursive: true, force: true });
    for (const l of links) expect(await exists(join(moved, l)), l).toBe(true);
  });

  it('link no blob the CAS does not hold, and say so', async () => {
    const p = await project();
    await rm(p.cas.pathOf(p.stdout.digest), { force: true });
    const run = await reportRun(p.result, 'demo', [], p.cas, { verified: null });
    expect(run.cells[0]!.steps[0]!.stdout!.href).toBeUndefined();
    expect(run.bundle.checkedAt).toBeUndefined();
    const page = await readFile((await writeReports(run, p.cas)).html, 'utf8');
    expect(page).toContain(`<span title="${p.stdout.digest} (no copy beside this page)">stdout</span>`);
    expect(page).toContain('Not checked when this page was written.');
  });

  it('still writes a page when the transcript cannot be read', async () => {
    const p = await project();
    await writeFile(join(p.bundleDir, 'transcript.jsonl'), 'not json\n');
    const run = await reportRun(p.result, 'demo', [], p.cas, { verified: false, code: 'TRANSCRIPT_MALFORMED', problem: `[TRANSCRIPT_MALFORMED] ${p.bundleDir}/transcript.jsonl line 1` });
    expect(run.bundle.problem).toBe('[TRANSCRIPT_MALFORMED] proofs/r1/transcript.jsonl line 1');
    expect(run.cells[0]!.enforcement).toBeUndefined();
    const page = await readFile((await writeReports(run, p.cas)).html, 'utf8');
    expect(page).toContain('verification failed <code>[TRANSCRIPT_MALFORMED]</code>');
    expect(page).not.toContain(p.root);
  });
});
