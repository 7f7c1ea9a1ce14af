import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAirlockError } from '../src/errors.js';
import { parseTranscript } from '../src/proof/transcript.js';
import { runRepro, type ReproResult } from '../src/repro/run-repro.js';
import { DIMENSIONS, parseVary, planVariations } from '../src/repro/variations.js';
import { silentReporter } from '../src/run/reporter.js';
import { loadSpec } from '../src/spec/load.js';
import { verifyBundle } from '../src/verify/index.js';
import { leftovers, REPO, sandbox, writeTree, type Sandbox } from './helpers.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await sandbox();
});
afterAll(() => sb.close());

async function repro(spec: string, vary?: string): Promise<ReproResult> {
  return runRepro({
    loaded: await loadSpec(spec),
    workspace: sb.workspace,
    engine: sb.engine,
    key: sb.key,
    reporter: silentReporter,
    signal: new AbortController().signal,
    ...(vary ? { vary: parseVary(vary) } : {}),
  });
}

/** The repro bundle verifies, its transcript is `repro` events, and its signed verdict is the one returned. */
async function checkBundle(r: ReproResult): Promise<void> {
  const verified = await verifyBundle({ bundleDir: r.bundleDir, trustedKeys: [sb.key], blobDirs: [sb.workspace.artifactsDir] });
  expect(verified.runId).toBe(r.reproId);
  const events = parseTranscript(await readFile(join(r.bundleDir, 'transcript.jsonl'), 'utf8'));
  expect(new Set(events.map((e) => e.phase))).toEqual(new Set(['repro']));
  const experiments = r.attribution?.experiments ?? [];
  expect(events.map((e) => e.data.kind)).toEqual([
    'spec',
    'variations',
    'run',
    'run',
    ...experiments.map(() => 'experiment'),
    'comparison',
    ...(r.attribution ? ['attribution'] : []),
    'verdict',
  ]);
  const statement = JSON.parse(await readFile(join(r.bundleDir, 'statement.json'), 'utf8'));
  expect(statement.subject.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['repro/report.txt', 'repro/report.json']));
  const verdict = statement.predicate.runDetails.byproducts.find((b: { name: string }) => b.name === 'repro/verdict');
  expect(verdict.annotations['dev.airlock.verdict']).toBe(r.reproducible ? 'reproducible' : 'not-reproducible');
  expect(statement.predicate.buildDefinition.externalParameters.spec.digest).toMatch(/^sha256:/);
  // every run it compared and every experiment is a resolved dependency, pinned by its envelope's digest
  expect(statement.predicate.buildDefinition.resolvedDependencies.filter((d: { name: string }) => d.name.startsWith('run:'))).toHaveLength(2 + experiments.length);
  for (const x of experiments) expect(await leftovers(sb.engine, x.runId)).toBe(0);
  expect(await leftovers(sb.engine, r.reproId)).toBe(0);
}

describe('repro variations', () => {
  const cell = { id: 'e', user: '65534:65534', isolation: 'container' };

  it('varies every dimension that applies, and says why the others do not', () => {
    const plan = planVariations(new Set(DIMENSIONS), { runs: 3, cpus: 2, cells: [cell] });
    const status = Object.fromEntries(plan.dimensions.map((d) => [d.dimension, d.status]));
    expect(status).toEqual({ hostname: 'on', tz: 'on', locale: 'on', umask: 'on', user: 'on', cpuset: 'on', workdir: 'on', 'env-order': 'on', time: 'on', faketime: 'not-applicable' });
    expect(plan.perRun[0]).toBeUndefined();
    expect(plan.perRun[1]).toMatchObject({ hostname: 'repro-host-2', tz: '<+14>-14', locale: 'en_US.UTF-8', umask: '0077', user: '12345:12345', cpuset: '0', workdir: '/repro-workdir-2', reverseEnvOrder: true });
    expect(plan.perRun[2]).toMatchObject({ cpuset: '1', locale: 'C.UTF-8' });
    expect(plan.sleepMs).toBeGreaterThanOrEqual(1000);
  });

  it('does not vary the user of root cells, the CPUs of a 1-CPU engine, or the workdir cells set themselves', () => {
    const plan = planVariations(new Set(DIMENSIONS), { runs: 2, cpus: 1, cells: [{ ...cell, user: '0:0', workdir: '/src' }], faketimeLibrary: '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1' });
    const byName = new Map(plan.dimensions.map((d) => [d.dimension, d]));
    expect(byName.get('user')).toMatchObject({ status: 'not-applicable', reason: expect.stringContaining('root') });
    expect(byName.get('cpuset')).toMatchObject({ status: 'not-applicable', reason: expect.stringContaining('1 CPU') });
    expect(byName.get('workdir')).toMatchObject({ status: 'not-applicable' });
    expect(byName.get('faketime')?.status).toBe('on');
    expect(plan.perRun[1]).not.toHaveProperty('user');
    expect(plan.perRun[1]).toMatchObject({ faketime: '+380d' });
  });

  it('--vary selects dimensions and refuses unknown ones with a usage error', () => {
    expect([...parseVary('hostname,tz')]).toEqual(['hostname', 'tz']);
    const plan = planVariations(parseVary('umask'), { runs: 2, cpus: 2, cells: [cell] });
    expect(plan.dimensions.find((d) => d.dimension === 'hostname')).toMatchObject({ status: 'off', reason: 'not selected by --vary' });
    expect(plan.perRun[1]).toEqual({ umask: '0077' });
    expect(plan.sleepMs).toBe(0);
    try {
      parseVary('hostname,moon');
      expect.unreachable();
    } catch (e) {
      expect(isAirlockError(e, 'USAGE')).toBe(true);
      expect((e as Error).message).toContain('"moon"');
    }
  });
});

describe('airlock repro on the real engine', () => {
  it('examples/repro-good is reproducible under every variation, and the signed verdict verifies', async () => {
    const r = await repro(join(REPO, 'examples/repro-good/airlock.yaml'));
    expect(r.report.text).toContain('REPRODUCIBLE');
    expect(r.entries).toEqual([]);
    expect(r.reproducible).toBe(true);
    expect(r.exitCode).toBe(0);
    expect(r.runs.map((x) => x.verdict)).toEqual(['passed', 'passed']);
    expect(r.runs[1]!.variation).toMatchObject({ hostname: 'repro-host-2', locale: 'en_US.UTF-8', umask: '0077', user: '12345:12345', workdir: '/repro-workdir-2' });
    expect(r.verdicts.images).toEqual({ 'build@44136fa355b3': 'reproducible', 'runtime@44136fa355b3': 'reproducible' });
    expect(Object.keys(r.verdicts.outputs).sort()).toEqual(['report/out/build-info.txt', 'report/out/files.txt', 'report/out/inventory.txt', 'report/out/report']);
    expect(Object.values(r.verdicts.outputs).every((v) => v === 'reproducible')).toBe(true);
    // the runs really happened at different times, under different settings
    expect(Date.parse(r.runs[1]!.startedAt) - Date.parse(r.runs[0]!.finishedAt)).toBeGreaterThanOrEqual(1000);
    await checkBundle(r);
  });

  it('examples/repro-bad is not reproducible, naming exactly its four files, each with its cause', async () => {
    const r = await repro(join(REPO, 'examples/repro-bad/airlock.yaml'));
    expect(r.reproducible).toBe(false);
    expect(r.exitCode).toBe(1);
    const named = r.entries.map((e) => [e.scope, e.path, e.cause]);
    expect(named).toEqual([
      ['output', 'bad/out/build-date.txt', 'timestamp'],
      ['output', 'bad/out/build-host.txt', 'hostname'],
      ['output', 'bad/out/build-id.txt', 'random'],
      ['output', 'bad/out/sources.txt', 'locale-sort'],
    ]);
    const byPath = new Map(r.entries.map((e) => [e.path, e]));
    expect(byPath.get('bad/out/build-host.txt')!.evidence).toContain("'repro-host-2' is the hostname of run 2");
    expect(byPath.get('bad/out/build-id.txt')!.evidence).toContain('UUID');
    expect(byPath.get('bad/out/sources.txt')!.evidence).toContain('en_US.UTF-8');
    expect(r.verdicts.outputs['bad/out/stable.txt']).toBe('reproducible');
    expect(r.verdicts.images).toEqual({ 'app@44136fa355b3': 'reproducible' });
    expect(r.report.text).toMatch(/likely cause: locale-sort/);
    // attribution by experiment: control + one run per varied dimension (time is the control's own), at most dimensions on + 1
    const on = r.variations.filter((d) => d.status === 'on');
    expect(r.attribution!.experiments.map((x) => x.label)).toEqual(['control', ...on.map((d) => d.dimension).filter((d) => d !== 'time')]);
    expect(r.attribution!.experiments.length).toBeLessThanOrEqual(on.length + 1);
    const proven = Object.fromEntries(r.attribution!.paths.map((p) => [p.path, p.causes.map((c) => [c.cause, c.variation])]));
    expect(proven).toEqual({
      'bad/out/build-date.txt': [['timestamp', null]],
      'bad/out/build-host.txt': [['hostname', 'hostname']],
      'bad/out/build-id.txt': [['random', null]],
      'bad/out/sources.txt': [['locale-sort', 'locale']],
    });
    expect(r.attribution!.paths.every((p) => p.causes.every((c) => c.proven && c.hint !== undefined))).toBe(true);
    expect(r.report.text).toMatch(/attribution \(\d+ experiment runs against run 1/);
    await checkBundle(r);
  });

  it('an image whose build reads the clock differs, and the file that differs inside it is named with its cause', async () => {
    const dir = join(sb.dir, 'image-clock');
    await writeTree(dir, {
      Dockerfile: 'FROM airlock/busybox\nRUN date -u +%Y-%m-%dT%H:%M:%SZ > /built-at\n',
      'airlock.yaml': 'version: 1\nname: image-clock\nimages:\n  box: { dockerfile: Dockerfile, context: . }\nenvironments:\n  e:\n    image: box\n    steps:\n      - { name: copy, run: "cp /built-at /out/built-at" }\n    outputs: ["/out"]\n',
    });
    const r = await repro(join(dir, 'airlock.yaml'), 'time');
    expect(r.reproducible).toBe(false);
    // read back from the two images themselves (exported), and from the two outputs
    expect(r.entries.map((e) => [e.scope, e.path, e.differs, e.cause])).toEqual([
      ['image', 'built-at', ['content'], 'timestamp'],
      ['output', 'e/out/built-at', ['content'], 'timestamp'],
    ]);
    expect(r.verdicts.images).toEqual({ 'box@44136fa355b3': 'not-reproducible' });
    expect(r.variations.filter((d) => d.status === 'on').map((d) => d.dimension)).toEqual(['time']);
    expect(await leftovers(sb.engine, r.reproId)).toBe(0);
  });

  it('the root example: `airlock repro --json` runs it twice, compares, and seals a verdict that verify accepts', async () => {
    // the CLI signs with this machine's key (made by setup), trusted through locks/keys/
    await cp(join(REPO, 'locks/keys'), join(sb.dir, 'locks/keys'), { recursive: true });
    const bin = join(REPO, 'bin/airlock');
    const run = await execa('node', [bin, 'repro', '--spec', join(REPO, 'airlock.yaml'), '--root', sb.dir, '--json'], { reject: false, cwd: sb.dir });
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const result = lines.at(-1)!;
    expect(result, run.stderr).toMatchObject({ type: 'result', command: 'repro', verified: { ok: true } });
    expect(result.environments).toEqual(['smoke', 'smoke-gvisor', 'smoke-vm']);
    expect(result.reproducible).toBe(true);
    expect(run.exitCode).toBe(0);
    expect(lines.some((l) => l.type === 'repro-variations')).toBe(true);
    expect((result.timings as { compareMs: number }).compareMs).toBeGreaterThanOrEqual(0);
    const verify = await execa('node', [bin, 'verify', String(result.bundleDir), '--root', sb.dir], { reject: false });
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(verify.stdout).toContain('PASS');
  });

  it('the new commands print their usage with --help', async () => {
    for (const cmd of ['repro', 'replay', 'export', 'fetch', 'lock']) {
      const r = await execa('node', [join(REPO, 'bin/airlock'), cmd, '--help'], { reject: false });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: airlock ${cmd}`));
      expect(r.stdout).toContain('--json');
    }
  });
});
