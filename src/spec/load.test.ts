import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AirlockError, type ErrorCode } from '../errors.js';
import { sha256Digest } from '../util/digest.js';
import { loadSpec, parseSpec } from './load.js';
import { DEFAULT_POLICY } from './policy.js';
import type { Spec, SpecIssue } from './types.js';

const DIR = resolve(import.meta.dirname, 'fixtures/hello');
const FILE = join(DIR, 'airlock.yaml');
const MiB = 1024 ** 2;

const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

/** The error parseSpec throws for `text`, as if it were fixtures/hello/airlock.yaml. */
function failure(text: string): AirlockError {
  try {
    parseSpec(text, FILE);
  } catch (e) {
    if (e instanceof AirlockError) return e;
    throw e;
  }
  throw new Error('expected the spec to be rejected');
}

function issuesOf(text: string, code: ErrorCode = 'SPEC_INVALID'): SpecIssue[] {
  const e = failure(text);
  expect(e.code).toBe(code);
  expect(e.details.file).toBe(FILE);
  return e.details.issues as SpecIssue[];
}

/** Asserts the spec has exactly one problem, at `path`, `line:column`, with a message matching `message`. */
function expectOneProblem(text: string, path: string, at: `${number}:${number}`, message: string | RegExp): void {
  const issues = issuesOf(text);
  expect(issues, JSON.stringify(issues, null, 2)).toHaveLength(1);
  const [line, column] = at.split(':').map(Number);
  expect(issues[0]).toMatchObject({ path, line, column });
  expect(issues[0]?.message).toMatch(message);
}

/** A valid spec; tests change one line of it. */
function base(changes: Record<number, string | string[]> = {}): string {
  const lines = [
    'version: 1', //                                                      1
    'name: hello-c', //                                                   2
    'images:', //                                                         3
    '  build:   { dockerfile: infra/Dockerfile, target: build }', //      4
    '  runtime: { dockerfile: infra/Dockerfile, target: runtime }', //  5
    'environments:', //                                                   6
    '  smoke:', //                                                        7
    '    image: runtime', //                                              8
    '    steps:', //                                                      9
    '      - name: hello', //                                             10
    '        run: ["/usr/local/bin/hello"]', //                           11
    '        expect: { stdout: { file: golden/hello.txt } }', //          12
    '    outputs: ["/out"]', //                                           13
  ];
  const out: string[] = [];
  lines.forEach((l, i) => {
    const c = changes[i + 1];
    if (c === undefined) out.push(l);
    else out.push(...(Array.isArray(c) ? c : [c]));
  });
  return yaml(...out);
}

describe('loadSpec: the example spec', () => {
  it('validates and normalizes', async () => {
    const loaded = await loadSpec(relative(process.cwd(), FILE));
    const bytes = await readFile(FILE);
    expect(loaded.file).toBe(FILE);
    expect(loaded.dir).toBe(DIR);
    expect(loaded.text).toBe(bytes.toString('utf8'));
    expect(loaded.digest).toBe(sha256Digest(bytes));
    expect(loaded.spec).toEqual<Spec>({
      version: 1,
      name: 'hello-c',
      inputs: [],
      bases: {},
      images: {
        build: { dockerfile: 'infra/Dockerfile', target: 'build', context: '.', args: { CFLAGS: '-O2' }, labels: {} },
        runtime: { dockerfile: 'infra/Dockerfile', target: 'runtime', context: '.', args: {}, labels: {} },
      },
      environments: {
        smoke: {
          image: 'runtime',
          isolation: 'container',
          services: [],
          env: { LANG: 'C.UTF-8' },
          steps: [
            {
              name: 'hello',
              run: ['/usr/local/bin/hello', '--greet', 'airlock'],
              env: {},
              timeoutMs: 30_000,
              expect: { exit: 0, stdout: { file: join(DIR, 'golden/hello.txt') } },
            },
          ],
          outputs: ['/out'],
          policy: {
            network: 'none',
            readOnlyRootfs: true,
            tmpfs: ['/tmp', '/out'],
            user: '65534:65534',
            memoryBytes: 512 * MiB,
            pids: 256,
            cpus: 1,
            timeoutMs: 300_000,
            loosened: [],
          },
        },
      },
    });
    expect(loaded.spec.environments.smoke?.policy).toEqual(DEFAULT_POLICY);
  });

  it('throws SPEC_NOT_FOUND for a missing file', async () => {
    const err = await loadSpec(join(DIR, 'nope.yaml')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AirlockError);
    expect(err).toMatchObject({ code: 'SPEC_NOT_FOUND', details: { file: join(DIR, 'nope.yaml') } });
    expect((err as Error).message).toMatch(/nope\.yaml not found/);
  });
});

describe('parseSpec: defaults and normal forms', () => {
  it('fills defaults and turns a command string into sh -c', () => {
    const { spec } = parseSpec(
      base({
        10: '      - run: make test',
        11: '      - run: ["true"]',
        12: ['        timeout: 5s', '        env: { CI: "1" }', '        expect: { exit: 3, stderr: { matches: "^warn" } }'],
        13: ['    workdir: /src', '    outputs: []'],
      }),
      FILE,
    );
    const env = spec.environments.smoke!;
    expect(env.workdir).toBe('/src');
    expect(env.outputs).toEqual([]);
    expect(env.env).toEqual({});
    expect(env.steps).toEqual([
      { name: 'step-1', run: ['/bin/sh', '-c', 'make test'], env: {}, timeoutMs: 300_000, expect: { exit: 0 } },
      { name: 'step-2', run: ['true'], env: { CI: '1' }, timeoutMs: 5_000, expect: { exit: 3, stderr: { matches: '^warn' } } },
    ]);
    expect(spec.images.build).toEqual({ dockerfile: 'infra/Dockerfile', context: '.', target: 'build', args: {}, labels: {} });
  });

  it('lets a spec tighten the policy freely, at both levels', () => {
    const { spec } = parseSpec(
      base({
        13: ['    outputs: ["/out"]', '    policy: { pids: 32, tmpfs: ["/out"] }'],
      }) + yaml('policy:', '  memory: 128m', '  cpus: 0.5', '  timeout: 1m', '  user: "1000:1000"', '  pids: 64'),
      FILE,
    );
    expect(spec.environments.smoke?.policy).toEqual({
      ...DEFAULT_POLICY,
      memoryBytes: 128 * MiB,
      cpus: 0.5,
      timeoutMs: 60_000,
      user: '1000:1000',
      pids: 32,
      tmpfs: ['/out'],
      loosened: [],
    });
    expect(spec.environments.smoke?.steps[0]?.timeoutMs).toBe(60_000);
  });

  it('accepts loosening listed in loosen, at the level or above, and records it', () => {
    const { spec } = parseSpec(
      yaml(
        'version: 1',
        'name: loose',
        'images: { img: { dockerfile: Dockerfile } }',
        'environments:',
        '  wide:',
        '    image: img',
        '    steps: [{ run: build, timeout: 20m }]',
        '    policy: { user: root, readOnlyRootfs: false, tmpfs: [/tmp, /var/cache], loosen: [user, readOnlyRootfs, tmpfs] }',
        '  narrow:',
        '    image: img',
        '    steps: [{ run: test }]',
        '    policy: { memory: 256m }',
        'policy: { memory: 2g, timeout: 10m, loosen: [memory, timeout] }',
      ),
      FILE,
    );
    expect(spec.environments.wide?.policy).toMatchObject({
      user: 'root',
      readOnlyRootfs: false,
      tmpfs: ['/tmp', '/var/cache'],
      memoryBytes: 2048 * MiB,
      timeoutMs: 600_000,
      loosened: ['readOnlyRootfs', 'tmpfs', 'user', 'memory', 'timeout'],
    });
    expect(spec.environments.wide?.steps[0]?.timeoutMs).toBe(1_200_000);
    // narrow tightened memory back below the default; only the inherited timeout stays loosened
    expect(spec.environments.narrow?.policy).toMatchObject({ memoryBytes: 256 * MiB, loosened: ['timeout'] });
  });
});

describe('parseSpec: bad specs', () => {
  it('unknown key (typo), pointing at the key and suggesting the right one', () => {
    const issues = issuesOf(base({ 8: '    imgae: runtime' }));
    expect(issues).toEqual([
      { path: 'environments.smoke.image', line: 8, column: 5, message: 'missing required key "image"' },
      { path: 'environments.smoke.imgae', line: 8, column: 5, message: 'unknown key "imgae" (did you mean "image"?)' },
    ]);
  });

  it('wrong type', () => {
    expectOneProblem(
      base({ 4: '  build:   { dockerfile: infra/Dockerfile, target: 3 }' }),
      'images.build.target',
      '4:52',
      'expected a string, got number',
    );
  });

  it('run of the wrong type', () => {
    expectOneProblem(
      base({ 11: '        run: 42' }),
      'environments.smoke.steps[0].run',
      '11:14',
      /^expected an argv array of strings or a command string, got number$/,
    );
  });

  it('an argv element of the wrong type is reported at the element', () => {
    expectOneProblem(base({ 11: '        run: ["a", 1]' }), 'environments.smoke.steps[0].run[1]', '11:20', /^expected a string, got number$/);
  });

  it('bad version', () => {
    expectOneProblem(base({ 1: 'version: 2' }), 'version', '1:10', /^expected 1 .*got 2$/);
  });

  it('bad name', () => {
    expectOneProblem(base({ 2: 'name: Hello C' }), 'name', '2:7', /spec name "Hello C" must be lowercase letters/);
  });

  it('undefined image reference', () => {
    expectOneProblem(
      base({ 8: '    image: rutime' }),
      'environments.smoke.image',
      '8:12',
      /^image "rutime" is not defined in images \(defined: build, runtime\)/,
    );
  });

  it('duplicate step name', () => {
    expectOneProblem(
      base({ 13: ['      - name: hello', '        run: ["true"]', '    outputs: ["/out"]'] }),
      'environments.smoke.steps[1].name',
      '13:15',
      'duplicate step name "hello" (also used by steps[0])',
    );
  });

  it('a default step name taken by an explicit one', () => {
    expectOneProblem(
      base({ 10: '      - name: step-2', 13: ['      - run: ["true"]', '    outputs: ["/out"]'] }),
      'environments.smoke.steps[1]',
      '13:9',
      /default name "step-2" is already used by steps\[0\]/,
    );
  });

  it('relative output path', () => {
    expectOneProblem(
      base({ 13: '    outputs: ["/out", "out"]' }),
      'environments.smoke.outputs[1]',
      '13:23',
      'expected an absolute container path like "/out", got "out"',
    );
  });

  it('output path with ".."', () => {
    expectOneProblem(base({ 13: '    outputs: [/out/../etc]' }), 'environments.smoke.outputs[0]', '13:15', /must not contain "\.\."/);
  });

  it('bad duration', () => {
    const withTimeout = (t: string) => base({ 12: ['        expect: { stdout: { file: golden/hello.txt } }', `        timeout: ${t}`] });
    const path = 'environments.smoke.steps[0].timeout';
    expectOneProblem(withTimeout('5 min'), path, '13:18', 'expected a duration like "30s", "5m", "1500ms" or "1h", got "5 min"');
    expectOneProblem(withTimeout('30'), path, '13:18', 'expected a duration with a unit like "30s" or "5m", got the number 30');
    expectOneProblem(withTimeout('"30"'), path, '13:18', /\(a unit is required\), got "30"$/);
    expectOneProblem(withTimeout('0s'), path, '13:18', 'a timeout must be longer than 0, got "0s"');
  });

  it('bad size', () => {
    expectOneProblem(
      base() + yaml('policy:', '  memory: 512x'),
      'policy.memory',
      '15:11',
      'expected a size like "512m", "1g", "64k" or a number of bytes, got "512x"',
    );
  });

  it('invalid regex', () => {
    expectOneProblem(
      base({ 12: '        expect: { stdout: { matches: "a(b" } }' }),
      'environments.smoke.steps[0].expect.stdout.matches',
      '12:38',
      /^"a\(b" is not a valid regular expression: Unterminated group$/,
    );
  });

  it('an output match with two kinds at once', () => {
    expectOneProblem(
      base({ 12: '        expect: { stdout: { contains: a, equals: b } }' }),
      'environments.smoke.steps[0].expect.stdout',
      '12:27',
      'expected exactly one of file, contains, matches or equals, got contains and equals',
    );
  });

  it('an output match with an unknown kind suggests the right one', () => {
    expectOneProblem(
      base({ 12: '        expect: { stdout: { containz: hello } }' }),
      'environments.smoke.steps[0].expect.stdout',
      '12:27',
      'expected exactly one of file, contains, matches or equals, got "containz" (did you mean "contains"?)',
    );
  });

  it('missing golden file', () => {
    expectOneProblem(
      base({ 12: '        expect: { stdout: { file: golden/missing.txt } }' }),
      'environments.smoke.steps[0].expect.stdout.file',
      '12:35',
      `golden file "golden/missing.txt" not found (looked for ${join(DIR, 'golden/missing.txt')})`,
    );
  });

  it('loosening without loosen', () => {
    expectOneProblem(
      base({ 13: ['    outputs: ["/out"]', '    policy:', '      memory: 1g'] }),
      'environments.smoke.policy.memory',
      '15:15',
      'memory 1g is above the default 512m; add "memory" to policy.loosen to allow it',
    );
  });

  it('loosen at an environment does not cover the top level', () => {
    expectOneProblem(
      base({ 13: ['    outputs: ["/out"]', '    policy: { user: "0:0", loosen: [user] }'] }) + yaml('policy:', '  user: root'),
      'policy.user',
      '16:9',
      /^user "root" runs as root \(uid 0\)/,
    );
  });

  it('every kind of loosening, each at its node', () => {
    const issues = issuesOf(
      base({
        11: ['        run: ["true"]', '        timeout: 10m'],
        13: ['    outputs: ["/out"]', '    policy: { readOnlyRootfs: false, tmpfs: [/tmp, /var/cache], pids: 1000, cpus: 4, timeout: 1m }'],
      }),
    );
    expect(issues.map((i) => [i.path, `${i.line}:${i.column}`])).toEqual([
      ['environments.smoke.steps[0].timeout', '12:18'],
      ['environments.smoke.policy.readOnlyRootfs', '15:31'],
      ['environments.smoke.policy.tmpfs[1]', '15:52'],
      ['environments.smoke.policy.pids', '15:71'],
      ['environments.smoke.policy.cpus', '15:83'],
    ]);
    expect(issues[0]?.message).toBe('step timeout 10m is above the policy timeout 1m; add "timeout" to policy.loosen to allow it');
  });

  it('network other than none', () => {
    expectOneProblem(
      base() + yaml('policy:', '  network: bridge'),
      'policy.network',
      '15:12',
      'only "none" is supported in v1 (steps never get a network), got "bridge"',
    );
  });

  it('"network" is not a key that can be loosened', () => {
    expectOneProblem(base() + yaml('policy: { loosen: [network] }'), 'policy.loosen[0]', '14:20', '"network" cannot be loosened in v1');
  });

  it('YAML syntax error', () => {
    const e = failure(base({ 11: '        run: ["/usr/local/bin/hello"' }));
    expect(e.code).toBe('SPEC_YAML');
    const issues = e.details.issues as SpecIssue[];
    expect(issues[0]).toMatchObject({ line: 12, column: 9 });
    expect(issues[0]?.message).toMatch(/flow sequence/i);
    expect(e.message).toMatch(/^src\/spec\/fixtures\/hello\/airlock\.yaml: invalid YAML\n {2}src\/spec\/fixtures\/hello\/airlock\.yaml:12:9 {2}/);
  });

  it('duplicate keys are a YAML error', () => {
    const e = failure(base({ 2: ['name: a', 'name: b'] }));
    expect(e.code).toBe('SPEC_YAML');
    expect(e.details.issues).toMatchObject([{ line: 3, column: 1, message: expect.stringMatching(/unique/) }]);
  });

  it('more than one YAML document', () => {
    const e = failure(`${base()}---\n${base()}`);
    expect(e.code).toBe('SPEC_YAML');
    expect(e.details.issues).toMatchObject([{ line: 14, column: 1, message: expect.stringMatching(/single YAML document/) }]);
  });

  it('empty file', () => {
    for (const text of ['', '\n', '# nothing yet\n']) {
      const e = failure(text);
      expect(e.code).toBe('SPEC_INVALID');
      expect(e.details.issues).toEqual([
        { path: '', line: 1, column: 1, message: 'the file is empty; a spec needs at least version, name, images and environments' },
      ]);
    }
  });

  it('a document that is not a mapping', () => {
    expectOneProblem('- version: 1\n', '', '1:1', 'expected a mapping with version, name, images and environments, got array');
  });

  it('reports multiple problems together, sorted by position, in one message', () => {
    const e = failure(
      base({
        4: '  build:   { dockerfile: infra/Dockerfile, target: 3 }',
        8: '    image: rutime',
        11: '        run: 12',
      }),
    );
    expect(e.code).toBe('SPEC_INVALID');
    expect(e.exitCode).toBe(4);
    const f = 'src/spec/fixtures/hello/airlock.yaml';
    expect(e.message).toBe(
      [
        `${f}: 3 problems`,
        `  ${f}:4:52  images.build.target: expected a string, got number`,
        `  ${f}:8:12  environments.smoke.image: image "rutime" is not defined in images (defined: build, runtime) (did you mean "runtime"?)`,
        `  ${f}:11:14  environments.smoke.steps[0].run: expected an argv array of strings or a command string, got number`,
      ].join('\n'),
    );
    expect(e.details).toEqual({
      file: FILE,
      issues: [
        { path: 'images.build.target', line: 4, column: 52, message: 'expected a string, got number' },
        expect.objectContaining({ path: 'environments.smoke.image', line: 8, column: 12 }),
        expect.objectContaining({ path: 'environments.smoke.steps[0].run', line: 11, column: 14 }),
      ],
    });
  });

  it('a missing key is reported at its parent mapping', () => {
    // line 8 removed: the environment's mapping now starts with `steps:` on line 8
    expectOneProblem(base({ 8: [] }), 'environments.smoke.image', '8:5', 'missing required key "image"');
  });

  it('values that must be strings are not silently converted', () => {
    expectOneProblem(
      base({ 8: ['    image: runtime', '    env: { VERSION: 1.10 }'] }),
      'environments.smoke.env.VERSION',
      '9:21',
      /^expected a string \(quote numbers/,
    );
  });

  it('an invalid map key is reported at the key', () => {
    expectOneProblem(
      base({ 5: ['  runtime: { dockerfile: infra/Dockerfile, target: runtime }', '  Bad_Name: { dockerfile: x }'] }),
      'images.Bad_Name',
      '6:3',
      /image name "Bad_Name" must be lowercase/,
    );
  });

  it('positions follow aliases to the anchored node', () => {
    const text = base({ 4: '  build:   &img { dockerfile: infra/Dockerfile, target: [x] }', 5: '  runtime: *img' });
    const issues = issuesOf(text);
    expect(issues.map((i) => [i.path, i.line, i.column])).toEqual([
      ['images.build.target', 4, 57],
      ['images.runtime.target', 4, 57],
    ]);
  });
});

describe('loadSpec: bases', () => {
  it('reads a project base with its packages', () => {
    const loaded = parseSpec(base({ 2: ['name: hello-c', 'bases:', '  py: { debian: bookworm, packages: [python3, python3-venv] }'] }), FILE);
    expect(loaded.spec.bases).toEqual({ py: { debian: 'bookworm', packages: ['python3', 'python3-venv'] } });
  });

  it('places a bad package name, an unknown suite and a bad base name', () => {
    expectOneProblem(base({ 2: ['name: hello-c', 'bases:', '  py: { debian: bookworm, packages: [Python3] }'] }), 'bases.py.packages[0]', '4:38', /expected a Debian package name/);
    expectOneProblem(base({ 2: ['name: hello-c', 'bases:', '  py: { debian: sid }'] }), 'bases.py.debian', '4:17', /expected bookworm/);
    expectOneProblem(base({ 2: ['name: hello-c', 'bases:', '  Py: { debian: bookworm }'] }), 'bases.Py', '4:3', /base name "Py" must be lowercase/);
  });
});

describe('loadSpec: VM guests are sized by the policy', () => {
  const vm = (settings: string, policy: string[] = []) =>
    base({ 13: ['    outputs: ["/out"]', '    isolation: vm', `    vm: ${settings}`, ...policy] });

  it('refuses a guest bigger than the policy unless loosen names it, with positions', () => {
    const issues = issuesOf(vm('{ memory: 3g, cpus: 4 }'));
    expect(issues.map((i) => [i.path, i.line, i.message])).toEqual([
      ['environments.smoke.vm.memory', 15, expect.stringMatching(/guest memory 3g is more than the policy's 512m; add "memory" to policy.loosen/)],
      ['environments.smoke.vm.cpus', 15, expect.stringMatching(/4 guest CPUs are more than the policy's 1; add "cpus"/)],
    ]);
  });

  it('a loosened guest size is allowed and recorded in the policy', () => {
    const loaded = parseSpec(vm('{ memory: 1g, cpus: 2 }', ['    policy: { memory: 1g, cpus: 2, loosen: [memory, cpus] }']), FILE);
    expect(loaded.spec.environments.smoke!.vm).toMatchObject({ memoryBytes: 1024 ** 3, cpus: 2 });
    expect(loaded.spec.environments.smoke!.policy.loosened).toEqual(expect.arrayContaining(['memory', 'cpus']));
    const onlyVm = parseSpec(vm('{ memory: 1g }', ['    policy: { loosen: [memory] }']), FILE);
    expect(onlyVm.spec.environments.smoke!.policy.loosened).toContain('memory');
  });

  it('a guest within the policy needs nothing', () => {
    expect(parseSpec(vm('{ memory: 256m }'), FILE).spec.environments.smoke!.policy.loosened).toEqual([]);
  });
});
