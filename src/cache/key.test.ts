import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../proof/canonical-json.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { MemoryActionCache, type CachedCell } from './action-cache.js';
import { explainKeyChange } from './explain.js';
import { cacheKey, CELL_FORMAT_VERSION, type CacheKeyInputs } from './key.js';

const d = (s: string): Digest => sha256Digest(s);

function inputs(): CacheKeyInputs {
  return {
    rootfsDigest: d('rootfs'),
    argv: [['make', 'clean'], ['make', 'CC=gcc', 'all'], ['./test']],
    env: { CFLAGS: '-O2', LANG: 'C' },
    inputs: { 'src/main.c': d('main.c'), 'Makefile': d('Makefile') },
    policy: { network: 'none', memory: 512, user: '65534:65534' },
    runtime: 'runc',
    outputs: ['/out'],
    expect: [{ exit: 0 }, { exit: 0, stdout: { contains: 'ok' } }],
    cellFormatVersion: CELL_FORMAT_VERSION,
    args: { CFLAGS: '-O2', TARGET: 'x86_64' },
  };
}

/** The same object with every key order reversed, at every depth. */
function reversed(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversed);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)]));
  return v;
}

describe('cacheKey', () => {
  it('digests each component on its own and the key from the component map', () => {
    const i = inputs();
    const { key, components } = cacheKey(i);
    expect(Object.keys(components)).toEqual(Object.keys(i).sort());
    expect(components.env).toBe(sha256Digest(canonicalJson(i.env)));
    expect(key).toBe(sha256Digest(canonicalJson(components)));
  });

  it('does not depend on key order anywhere', () => {
    expect(cacheKey(reversed(inputs()) as CacheKeyInputs)).toEqual(cacheKey(inputs()));
  });

  it('leaves out undefined components', () => {
    expect(cacheKey({ ...inputs(), extra: undefined })).toEqual(cacheKey(inputs()));
  });

  it.each<[string, (i: CacheKeyInputs) => void]>([
    ['rootfsDigest', (i) => (i.rootfsDigest = d('other rootfs'))],
    ['argv', (i) => (i.argv[1]![1] = 'CC=clang')],
    ['argv', (i) => i.argv.push(['true'])],
    ['env', (i) => (i.env.CFLAGS = '-O3')],
    ['inputs', (i) => (i.inputs['src/main.c'] = d('main.c v2'))],
    ['policy', (i) => (i.policy.memory = 1024)],
    ['runtime', (i) => (i.runtime = 'runsc')],
    ['outputs', (i) => i.outputs.push('/logs')],
    ['expect', (i) => ((i.expect as { exit: number }[])[0]!.exit = 1)],
    ['cellFormatVersion', (i) => (i.cellFormatVersion = CELL_FORMAT_VERSION + 1)],
    ['args', (i) => ((i.args as Record<string, string>).CFLAGS = '-O3')],
  ])('changes when %s changes, and only that component', (component, change) => {
    const before = cacheKey(inputs());
    const i = inputs();
    change(i);
    const after = cacheKey(i);
    expect(after.key).not.toBe(before.key);
    const moved = Object.keys(after.components).filter((k) => after.components[k] !== before.components[k]);
    expect(moved).toEqual([component]);
  });

  it('tells an env var apart from the same text elsewhere (components are separate)', () => {
    const a = cacheKey({ ...inputs(), env: { X: '1' }, args: {} });
    const b = cacheKey({ ...inputs(), env: {}, args: { X: '1' } });
    expect(a.key).not.toBe(b.key);
  });
});

describe('explainKeyChange', () => {
  it('says nothing changed for equal inputs in any key order', () => {
    expect(explainKeyChange(inputs(), reversed(inputs()) as CacheKeyInputs)).toEqual([]);
  });

  it('names the exact changed leaf, with old and new values', () => {
    const next = inputs();
    next.env.CFLAGS = '-O3';
    (next.args as Record<string, string>).CFLAGS = '-O3';
    next.argv[1]![2] = 'check';
    next.policy.memory = 1024;
    expect(explainKeyChange(inputs(), next)).toEqual([
      { component: 'args', path: 'args.CFLAGS', old: '-O2', new: '-O3', detail: 'args.CFLAGS: "-O2" -> "-O3"' },
      { component: 'argv', path: 'argv[1][2]', old: 'all', new: 'check', detail: 'argv[1][2]: "all" -> "check"' },
      { component: 'env', path: 'env.CFLAGS', old: '-O2', new: '-O3', detail: 'env.CFLAGS: "-O2" -> "-O3"' },
      { component: 'policy', path: 'policy.memory', old: 512, new: 1024, detail: 'policy.memory: 512 -> 1024' },
    ]);
  });

  it('reports added and removed leaves and components', () => {
    const prev = inputs();
    const next = inputs();
    delete next.env.LANG;
    next.env['MY.VAR'] = 'x';
    next.argv.push(['strip', 'a.out']);
    delete next.args;
    next.seccomp = 'default';
    expect(explainKeyChange(prev, next).map((c) => c.detail)).toEqual([
      'args: {"CFLAGS":"-O2","TARGET":"x86_64"} -> (absent)',
      'argv[3]: (absent) -> ["strip","a.out"]',
      'env.LANG: "C" -> (absent)',
      'env["MY.VAR"]: (absent) -> "x"',
      'seccomp: (absent) -> "default"',
    ]);
  });

  it('names a changed scalar component and a changed type', () => {
    const next = { ...inputs(), runtime: 'runsc', expect: 'anything' };
    expect(explainKeyChange(inputs(), next).map((c) => c.path)).toEqual(['expect', 'runtime']);
  });

  it('summarizes a component with many changed leaves', () => {
    const prev = { ...inputs(), env: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`V${String(i).padStart(2, '0')}`, 'a'])) };
    const next = { ...inputs(), env: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`V${String(i).padStart(2, '0')}`, 'b'])) };
    const changes = explainKeyChange(prev, next);
    expect(changes).toHaveLength(21);
    expect(changes.at(-1)!.detail).toBe('env: 10 more changes');
  });

  it('says so when there is nothing to compare with', () => {
    expect(explainKeyChange(undefined, inputs())).toEqual([
      expect.objectContaining({ component: '*', detail: expect.stringContaining('no earlier cache entry') }),
    ]);
  });
});

describe('MemoryActionCache', () => {
  const entry = (key: Digest, cell: string): CachedCell => ({
    key,
    cell,
    inputs: inputs(),
    cellFormatVersion: CELL_FORMAT_VERSION,
    steps: [{ name: 'build', verdict: 'pass', exitCode: 0, timedOut: false, durationMs: 12, stdout: { digest: d('o'), size: 1 }, stderr: { digest: d('e'), size: 1 } }],
    outputs: [{ path: '/out', entries: [{ path: 'a.out', type: 'file', mode: 0o755, size: 3, digest: d('bin') }] }],
    durationMs: 20,
    source: { runId: 'r1', bundleDir: '/p/r1', transcriptSeq: 7 },
    storedAt: '2025-01-01T00:00:00.000Z',
  });

  it('gets what was put, finds a cell\'s latest entry, and hands out copies', async () => {
    const cache = new MemoryActionCache();
    const k1 = d('k1');
    const k2 = d('k2');
    expect(await cache.get(k1)).toBeUndefined();
    await cache.put(k1, entry(k1, 'build:cc=gcc'));
    await cache.put(k2, entry(k2, 'build:cc=gcc'));
    expect((await cache.get(k1))?.source.transcriptSeq).toBe(7);
    expect((await cache.latest('build:cc=gcc'))?.key).toBe(k2);
    expect(await cache.latest('build:cc=clang')).toBeUndefined();
    const got = (await cache.get(k1))!;
    got.steps[0]!.exitCode = 99;
    expect((await cache.get(k1))!.steps[0]!.exitCode).toBe(0);
  });
});
