import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunRecord } from '../src/proof/run-record.js';
import { verifyBundle } from '../src/verify/index.js';
import { runRepro, type ReproResult } from '../src/repro/run-repro.js';
import { silentReporter } from '../src/run/reporter.js';
import { loadSpec } from '../src/spec/load.js';
import type { CauseKind } from '../src/repro/types.js';
import type { Dimension } from '../src/repro/variations.js';
import { leftovers, REPO, sandbox, type Sandbox } from './helpers.js';

/**
 * examples/repro-corpus: one output per common source of nondeterminism, on busybox
 * and on the Debian toolchain base, plus controls (*.ok). `airlock repro` must flag
 * every differing file, never a control, and name for each the cause and the
 * variation an experiment proved (null: it differs with nothing varied).
 */

type Expected = [cause: CauseKind, variation: Dimension | null, field?: RegExp];

/** The cause named first for each file, and every other cause the file must carry. */
const CORPUS: Record<string, { first: Expected; also?: Expected[] }> = {
  'shell/out/clock.txt': { first: ['timestamp', null] },
  'shell/out/zone.txt': { first: ['timezone', 'tz'] },
  'shell/out/host.txt': { first: ['hostname', 'hostname'] },
  'shell/out/where.txt': { first: ['build-path', 'workdir'] },
  'shell/out/uid.txt': { first: ['uid-gid', 'user'] },
  'shell/out/umask.txt': { first: ['umask', 'umask'] },
  'shell/out/lang.txt': { first: ['locale', 'locale'] },
  'shell/out/sorted.txt': { first: ['locale-sort', 'locale'] },
  'shell/out/cpus.txt': { first: ['cpu-count', 'cpuset'] },
  'shell/out/env.txt': { first: ['env-order', 'env-order'] },
  'shell/out/random.txt': { first: ['random', null] },
  'shell/out/seed.txt': { first: ['random', null] },
  'shell/out/maps.txt': { first: ['address', null] },
  'shell/out/order.txt': { first: ['file-order', null] },
  'shell/out/files.cpio': {
    first: ['uid-gid', 'user', /^cpio member owner$/],
    also: [['umask', 'umask', /^cpio member mode$/], ['timestamp', null, /^cpio member mtime$/]],
  },
  'toolchain/out/mtime.tar': { first: ['timestamp', null, /^tar member mtime$/] },
  'toolchain/out/owner.tar': { first: ['uid-gid', 'user', /^tar member owner$/] },
  'toolchain/out/modes.tar': { first: ['umask', 'umask', /^tar member mode$/] },
  'toolchain/out/a.txt.gz': { first: ['timestamp', null, /^gzip header mtime$/] },
  'toolchain/out/whoami.txt': { first: ['username', 'user'] },
  'toolchain/out/date.o': { first: ['timestamp', null, /^ELF section .*\.rodata/] },
  'toolchain/out/debug.o': { first: ['build-path', 'workdir', /^ELF section .*\.debug/] },
  'toolchain/out/lib.a': {
    first: ['uid-gid', 'user', /^ar member owner$/],
    also: [['umask', 'umask', /^ar member mode$/], ['timestamp', null, /^ar member mtime$/]],
  },
};

let sb: Sandbox;
let r: ReproResult;
beforeAll(async () => {
  sb = await sandbox();
  r = await runRepro({
    loaded: await loadSpec(join(REPO, 'examples/repro-corpus/airlock.yaml')),
    workspace: sb.workspace,
    engine: sb.engine,
    key: sb.key,
    reporter: silentReporter,
    signal: new AbortController().signal,
  });
}, 600_000);
afterAll(() => sb.close());

describe('the repro corpus (examples/repro-corpus)', () => {
  it('flags every differing file and no control', () => {
    expect(r.reproducible).toBe(false);
    const outputs = Object.entries(r.verdicts.outputs);
    const flagged = outputs.filter(([, v]) => v === 'not-reproducible').map(([p]) => p).sort();
    expect(flagged).toEqual(Object.keys(CORPUS).sort());
    const controls = outputs.filter(([p]) => p.endsWith('.ok'));
    expect(controls.length).toBe(9);
    expect(controls.every(([, v]) => v === 'reproducible')).toBe(true);
  });

  it('names for every file the cause and the variation its experiment proved, with a fix', () => {
    const byPath = new Map(r.attribution!.paths.map((p) => [p.path, p]));
    const named = Object.fromEntries([...byPath].map(([path, p]) => [path, [p.causes[0]!.cause, p.causes[0]!.variation]]));
    expect(named).toEqual(Object.fromEntries(Object.entries(CORPUS).map(([path, e]) => [path, [e.first[0], e.first[1]]])));
    for (const [path, e] of Object.entries(CORPUS)) {
      const causes = byPath.get(path)!.causes;
      for (const [cause, variation, field] of [e.first, ...(e.also ?? [])]) {
        const c = causes.find((x) => x.cause === cause && x.variation === variation);
        expect(c, `${path}: ${cause} [${String(variation)}] in ${JSON.stringify(causes)}`).toBeDefined();
        expect(c!.proven).toBe(true);
        expect(c!.hint, `${path}: a fix for ${cause}`).toBeTruthy();
        if (field) expect(c!.field, `${path}: ${cause}`).toMatch(field);
      }
    }
  });

  it('costs at most one run more than the dimensions varied, each experiment on run 1 images, all recorded in the signed bundle', async () => {
    const on = r.variations.filter((d) => d.status === 'on');
    const experiments = r.attribution!.experiments;
    expect(experiments.length).toBeLessThanOrEqual(on.length + 1);
    expect(experiments[0]!.label).toBe('control');
    for (const x of experiments.slice(1)) expect(x.variation).not.toBeNull();
    // on run 1's images: the experiments cost only their cells
    const first = await readRunRecord(r.runs[0]!.bundleDir);
    const ids = (rec: { images: { imageId: string }[] }) => rec.images.map((i) => i.imageId).sort();
    for (const x of experiments) expect(ids(await readRunRecord(x.bundleDir))).toEqual(ids(first));
    const report = await verifyBundle({ bundleDir: r.bundleDir, trustedKeys: [sb.key], blobDirs: [sb.workspace.artifactsDir] });
    expect(report.runId).toBe(r.reproId);
    for (const x of experiments) expect(await leftovers(sb.engine, x.runId)).toBe(0);
    expect(r.report.text).toContain('attribution (');
    expect(r.report.text).toContain('fix: gzip -n');
  });
});
