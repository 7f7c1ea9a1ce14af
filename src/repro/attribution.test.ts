import { describe, expect, it } from 'vitest';

import { attribute, CAUSES_OF, planExperiments, renderAttribution, type ExperimentResult } from './attribution.js';
import type { DiffEntry, LikelyCause } from './types.js';
import { DIMENSIONS, planVariations } from './variations.js';

const entry = (path: string, cause?: LikelyCause): DiffEntry => ({ path, differs: ['content'], ...(cause ? { likelyCause: cause } : {}) });
const out = (path: string, cause?: LikelyCause) => ({ scope: 'output' as const, entry: entry(path, cause) });
const result = (label: ExperimentResult['label'], ...differences: ReturnType<typeof out>[]): ExperimentResult => ({ label, differences });

describe('planExperiments', () => {
  const plan = planVariations(new Set(DIMENSIONS), { runs: 2, cpus: 2, cells: [{ id: 'c', user: '65534:65534', isolation: 'container' }] });

  it('is the control, then one run per dimension that was on, each with only its own fields of run 2', () => {
    const xs = planExperiments(plan.dimensions, plan.perRun[1]);
    const on = plan.dimensions.filter((d) => d.status === 'on').map((d) => d.dimension);
    expect(xs.map((x) => x.label)).toEqual(['control', ...on.filter((d) => d !== 'time')]);
    expect(xs.length).toBeLessThanOrEqual(on.length + 1);
    expect(xs[0]!.variation).toBeUndefined();
    const by = Object.fromEntries(xs.slice(1).map((x) => [x.label, x.variation]));
    expect(by.hostname).toEqual({ hostname: 'repro-host-2', domainname: 'repro.invalid' });
    expect(by.tz).toEqual({ tz: '<+14>-14' });
    expect(by.user).toEqual({ user: '12345:12345' });
    expect(by['env-order']).toEqual({ reverseEnvOrder: true });
  });

  it('leaves out dimensions that were off or not applicable', () => {
    const some = planVariations(new Set(['hostname', 'umask'] as const), { runs: 2, cpus: 1, cells: [] });
    expect(planExperiments(some.dimensions, some.perRun[1]).map((x) => x.label)).toEqual(['control', 'hostname', 'umask']);
  });
});

describe('attribute', () => {
  const clock: LikelyCause = { cause: 'timestamp', evidence: 'line 1: clock' };
  const host: LikelyCause = { cause: 'hostname', evidence: "line 1: 'airlock' vs 'repro-host-2'" };

  it('a path that differs only when one dimension varies is proven to depend on it', () => {
    const [p] = attribute([out('o/host.txt', host)], [result('control'), result('hostname', out('o/host.txt', host)), result('tz')]);
    expect(p!.causes).toEqual([{ cause: 'hostname', variation: 'hostname', proven: true, evidence: host.evidence, hint: expect.any(String) }]);
  });

  it('a path that differs with nothing varied is inherent, and a dimension counts there only with its own evidence', () => {
    const both: LikelyCause = { cause: 'timestamp', evidence: 'line 1: date with zone', also: ['timezone'] };
    const paths = attribute(
      [out('o/clock.txt', clock), out('o/date.txt', both)],
      [
        result('control', out('o/clock.txt', clock), out('o/date.txt', clock)),
        // the clock moves in every experiment: without the zone's own evidence, tz proves nothing
        result('tz', out('o/clock.txt', clock), out('o/date.txt', both)),
        result('hostname', out('o/clock.txt', clock), out('o/date.txt', clock)),
      ],
    );
    expect(paths[0]!.causes.map((c) => [c.cause, c.variation])).toEqual([['timestamp', null]]);
    expect(paths[0]!.causes[0]!.evidence).toMatch(/^differs with nothing varied \(control run\)/);
    expect(paths[1]!.causes.map((c) => [c.cause, c.variation])).toEqual([['timezone', 'tz'], ['timestamp', null]]);
  });

  it('calls what differs with nothing varied, and shows no clock, address or order, randomness', () => {
    const opaque: LikelyCause = { cause: 'unknown', evidence: "line 1: 'seed 4711' vs 'seed 1862'" };
    const [p] = attribute([out('o/seed.txt', opaque)], [result('control', out('o/seed.txt', opaque)), result('hostname', out('o/seed.txt', opaque))]);
    expect(p!.causes.map((c) => [c.cause, c.variation])).toEqual([['random', null]]);
    expect(p!.causes[0]!.evidence).toMatch(/no clock value, address or reordering: randomness or a race: line 1/);
  });

  it('names the dimension’s own cause when the bytes show another, and moves an archive field to it', () => {
    const tarMtime: LikelyCause = { cause: 'timestamp', evidence: 'f: mtime … ; uid 1 vs 2', also: ['uid-gid'], field: 'tar member mtime' };
    const [p] = attribute([out('o/a.tar', tarMtime)], [result('control', out('o/a.tar', tarMtime)), result('user', out('o/a.tar', tarMtime))]);
    expect(p!.causes.map((c) => [c.cause, c.variation, c.field])).toEqual([
      ['uid-gid', 'user', 'tar member owner'],
      ['timestamp', null, 'tar member mtime'],
    ]);
    expect(p!.causes[0]!.hint).toMatch(/--owner=0/);
  });

  it('a dimension whose experiment changes a path without any evidence still proves it, with its first cause', () => {
    const opaque: LikelyCause = { cause: 'unknown', evidence: "offset 0x10: 'x' vs 'y'" };
    const [p] = attribute([out('o/bin', opaque)], [result('control'), result('cpuset', out('o/bin', opaque))]);
    expect(p!.causes[0]).toMatchObject({ cause: CAUSES_OF.cpuset[0], variation: 'cpuset', proven: true });
    expect(p!.causes[0]!.evidence).toMatch(/^differs only when cpuset varies: /);
  });

  it('a path no single experiment reproduces keeps the failing comparison’s evidence, marked not proven', () => {
    const [p] = attribute([out('o/x', host)], [result('control'), result('hostname')]);
    expect(p!.causes).toHaveLength(1);
    expect(p!.causes[0]).toMatchObject({ cause: 'hostname', variation: null, proven: false });
    expect(p!.causes[0]!.evidence).toMatch(/no single variation and no control run reproduces it/);
  });

  it('lists each path once however many comparisons found it, and renders causes, evidence and fixes', () => {
    const paths = attribute([out('o/host.txt', host), out('o/host.txt', host)], [result('control'), result('hostname', out('o/host.txt', host))]);
    expect(paths).toHaveLength(1);
    const text = renderAttribution(paths, [{ label: 'control', runId: 'r3' }, { label: 'hostname', runId: 'r4' }]);
    expect(text).toContain('attribution (2 experiment runs against run 1: control, hostname)');
    expect(text).toContain('  o/host.txt: hostname [hostname]');
    expect(text).toMatch(/fix: do not embed the machine name/);
  });
});
