import { describe, expect, it } from 'vitest';
import { parseSpec } from './load.js';
import { FIXTURE_SPEC, issuesOf } from './testing/issues.js';

const FILE = FIXTURE_SPEC;
const issues = issuesOf;

const SPEC = `version: 1
name: m
images:
  app: { dockerfile: Dockerfile, args: { CC: "\${{ matrix.cc }}" } }
environments:
  test:
    image: app
    env: { OPT: "\${{ matrix.opt }}" }
    services:
      web:
        image: airlock/busybox
        run: ["httpd", "-f", "-p", "8080"]
        wait: { port: 8080 }
      kv:
        image: app
        healthcheck: { test: ["CMD", "true"], interval: 500ms }
    steps:
      - run: ["make", "CC=\${{ matrix.cc }}"]
matrix:
  environment: test
  axes: { cc: [gcc, clang], opt: ["-O0", "-O2"] }
  include: [ { cc: gcc, opt: "-O3", experimental: true } ]
  exclude: [ { cc: clang, opt: "-O0" } ]
  maxParallel: 2
`;


describe('matrix and services in the spec', () => {
  it('normalizes the matrix and the services', () => {
    const { spec } = parseSpec(SPEC, FILE);
    expect(spec.matrix).toEqual({
      environment: 'test',
      axes: { cc: ['gcc', 'clang'], opt: ['-O0', '-O2'] },
      include: [{ cc: 'gcc', opt: '-O3', experimental: true }],
      exclude: [{ cc: 'clang', opt: '-O0' }],
      maxParallel: 2,
      failFast: false,
    });
    const [web, kv] = spec.environments.test!.services;
    expect(web).toMatchObject({ name: 'web', image: 'airlock/busybox', run: ['httpd', '-f', '-p', '8080'], wait: { port: 8080 }, startupTimeoutMs: 60_000 });
    expect(kv).toMatchObject({ name: 'kv', healthcheck: { test: ['CMD', 'true'], intervalMs: 500, timeoutMs: 3_000, retries: 30, startPeriodMs: 0 } });
    expect(kv!.policy.user).toBe('65534:65534');
  });

  it('names an unknown axis in ${{ matrix.x }}, with a suggestion', () => {
    const [issue] = issues(SPEC.replace('CC=${{ matrix.cc }}', 'CC=${{ matrix.ccc }}'));
    expect(issue).toMatchObject({ path: 'environments.test.steps[0].run[1]' });
    expect(issue!.message).toContain('no axis "ccc" (axes: cc, opt, experimental) (did you mean "cc"?)');
  });

  it('refuses ${{ matrix.x }} outside the matrix environment', () => {
    const text = SPEC.replace('environments:\n', 'environments:\n  other:\n    image: app\n    steps: [ { run: "echo ${{ matrix.cc }}" } ]\n');
    const [issue] = issues(text);
    expect(issue).toMatchObject({ path: 'environments.other.steps[0].run' });
    expect(issue!.message).toContain('can only be used in the matrix environment "test"');
  });

  it('refuses a matrix on an undefined environment and excludes of unknown axes', () => {
    const found = issues(SPEC.replace('environment: test\n', 'environment: tset\n').replace('exclude: [ { cc: clang', 'exclude: [ { compiler: clang'));
    expect(found.map((i) => i.path)).toEqual(expect.arrayContaining(['matrix.environment', 'matrix.exclude[0].compiler']));
    expect(found.find((i) => i.path === 'matrix.environment')!.message).toContain('(did you mean "test"?)');
  });

  it('refuses services in a VM cell, and a service wait that is not one of log/command/port', () => {
    const found = issues(SPEC.replace('    image: app\n    env:', '    image: app\n    isolation: vm\n    env:').replace('wait: { port: 8080 }', 'wait: { socket: 8080 }'));
    expect(found.map((i) => i.path).sort()).toEqual(['environments.test.services', 'environments.test.services.web.wait'].sort());
  });
});
