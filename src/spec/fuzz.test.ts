/**
 * The spec fuzzer: hostile specs (random YAML structures, and mutations of the project's own
 * valid specs, structural and textual) must either load or be refused as an invalid spec
 * (exit 4) naming at least one problem with a line and a column. Nothing else may come out:
 * no INTERNAL error, no TypeError, no hang. Seeded, so a failure reproduces; a few hundred
 * cases by default, `AIRLOCK_FUZZ_RUNS=5000 npx vitest run src/spec/fuzz.test.ts` (or
 * `make fuzz`) for a longer campaign.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { AirlockError } from '../errors.js';
import { confine } from './confine.js';
import { parseSpec } from './load.js';
import { FIXTURE_SPEC } from './testing/issues.js';
import type { SpecIssue } from './types.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SEED = 20_261_201;
/** cases per property: three properties, so the default run tries about 3 × 120 specs */
const RUNS = Number(process.env.AIRLOCK_FUZZ_RUNS ?? 120);

/** The valid specs mutations start from, each anchored where it lives (golden files resolve there). */
const SEEDS = ['airlock.yaml', 'examples/hello-c/airlock.yaml', 'examples/matrix/airlock.yaml', 'examples/repro-good/airlock.yaml', 'examples/repro-bad/airlock.yaml'].map((rel) => ({
  file: join(ROOT, rel),
  text: readFileSync(join(ROOT, rel), 'utf8'),
}));

/** What happened to one spec; anything else thrown fails the property. */
type Outcome = 'loaded' | 'refused';

function outcomeOf(text: string, file: string): Outcome {
  let loaded;
  try {
    loaded = parseSpec(text, file);
  } catch (e) {
    if (!(e instanceof AirlockError)) throw e;
    if (e.code !== 'SPEC_INVALID' && e.code !== 'SPEC_YAML') throw e;
    expect(e.exitCode).toBe(4);
    const issues = e.details.issues as SpecIssue[];
    expect(issues.length).toBeGreaterThan(0);
    for (const i of issues) {
      expect(Number.isInteger(i.line) && i.line >= 1, JSON.stringify(i)).toBe(true);
      expect(Number.isInteger(i.column) && i.column >= 1, JSON.stringify(i)).toBe(true);
      expect(typeof i.message === 'string' && i.message !== '', JSON.stringify(i)).toBe(true);
    }
    expect(e.message).toMatch(/:\d+:\d+ {2}/);
    return 'refused';
  }
  // What loads never names a file outside the project.
  const { images, environments } = loaded.spec;
  const named = [
    ...Object.values(images).flatMap((i) => [i.dockerfile, i.context]),
    ...Object.values(environments).flatMap((env) => env.steps.flatMap((s) => [s.expect.stdout, s.expect.stderr].flatMap((m) => (m && 'file' in m ? [m.file] : [])))),
  ];
  for (const p of named) expect(confine(loaded.dir, p).ok, p).toBe(true);
  return 'loaded';
}

// ------------------------------------------------------------------ generators

/** Words a spec is made of, so random structures reach deep into the schema, not just its root. */
const KEYS = [
  'version', 'name', 'images', 'environments', 'policy', 'matrix', 'inputs', 'bases', 'dockerfile', 'context', 'target', 'args',
  'labels', 'image', 'env', 'workdir', 'steps', 'outputs', 'services', 'isolation', 'vm', 'run', 'expect', 'exit', 'stdout',
  'stderr', 'file', 'contains', 'matches', 'equals', 'timeout', 'network', 'readOnlyRootfs', 'tmpfs', 'user', 'memory', 'pids',
  'cpus', 'loosen', 'axes', 'include', 'exclude', 'maxParallel', 'failFast', 'cellTimeout', 'healthcheck', 'wait', 'url', 'sha256',
];
const HOSTILE_STRINGS = [
  '../../outside', '/etc/shadow', '../../../../etc/passwd', '.', '', ' ', '${{ matrix.x }}', '${{ matrix.opt }}', '\u0000', '\n', '1e-12',
  '0.001', '512m', '-1', '99999999999999999999g', '30s', '0s', '1h', 'none', 'host', 'root', '0', 'airlock/busybox', 'a'.repeat(300),
  '[', '{', '*', '&a', '!!binary', '(?<', '.*', 'http://127.0.0.1/x', 'readOnlyRootfs', 'network',
];
const scalar = fc.oneof(
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -3, max: 300 }),
  fc.constantFrom(0, -1, 1e-12, 0.001, 0.01, 1e308, Number.MAX_SAFE_INTEGER, Infinity, -Infinity, Number.NaN, true, false, null),
);
const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) });
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
  ),
}));

type Path = (string | number)[];
function paths(v: unknown, at: Path = []): Path[] {
  const here = [at];
  if (Array.isArray(v)) return [...here, ...v.flatMap((x, i) => paths(x, [...at, i]))];
  if (v !== null && typeof v === 'object') return [...here, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...at, k]))];
  return here;
}
function setAt(root: unknown, path: Path, replace: (old: unknown) => unknown): unknown {
  if (path.length === 0) return replace(root);
  const [head, ...rest] = path;
  const copy: any = Array.isArray(root) ? [...root] : { ...(root as object) };
  copy[head!] = setAt(copy[head!], rest, replace);
  return copy;
}

/** One structural mutation of a parsed spec: replace, delete, or duplicate-and-vary a node. */
const mutation = fc.record({ pick: fc.nat(), kind: fc.constantFrom('replace', 'delete', 'wrap', 'empty'), with: value });
function mutate(spec: unknown, m: { pick: number; kind: string; with: unknown }): unknown {
  const all = paths(spec);
  const path = all[m.pick % all.length]!;
  switch (m.kind) {
    case 'replace':
      return setAt(spec, path, () => m.with);
    case 'delete':
      return path.length === 0 ? m.with : setAt(spec, path.slice(0, -1), (parent) => {
        if (Array.isArray(parent)) return parent.filter((_, i) => i !== path.at(-1));
        const copy = { ...(parent as object) } as Record<string, unknown>;
        delete copy[String(path.at(-1))];
        return copy;
      });
    case 'wrap':
      return setAt(spec, path, (old) => [old, m.with]);
    default:
      return setAt(spec, path, (old) => (Array.isArray(old) ? [] : typeof old === 'object' && old !== null ? {} : ''));
  }
}

/** One textual mutation: bytes inserted, a range deleted, a line repeated, or the text cut short. */
const edit = fc.record({ at: fc.nat(), len: fc.nat({ max: 40 }), kind: fc.constantFrom('insert', 'delete', 'repeat-line', 'truncate'), text: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(':', '- ', '{', '[', '"', "'", '&a ', '*a', '\t', '\n  ', '---\n', '#', '<<: *a', '!!str ', '? ')) });
function applyEdit(text: string, e: { at: number; len: number; kind: string; text: string }): string {
  const at = e.at % (text.length + 1);
  switch (e.kind) {
    case 'insert':
      return text.slice(0, at) + e.text + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + e.len);
    case 'repeat-line': {
      const lines = text.split('\n');
      const i = e.at % lines.length;
      lines.splice(i, 0, lines[i]!);
      return lines.join('\n');
    }
    default:
      return text.slice(0, at);
  }
}

// ------------------------------------------------------------------ properties

const tally = { loaded: 0, refused: 0 };
const check = (text: string, file: string) => {
  tally[outcomeOf(text, file)] += 1;
};

describe('spec fuzzer: loads, or refused with positions, never anything else', () => {
  it('every valid seed spec loads', () => {
    for (const s of SEEDS) expect(outcomeOf(s.text, s.file)).toBe('loaded');
  });

  it('random YAML structures', () => {
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 7 }), fc.boolean(), (doc, withVersion) => {
        check(stringify(withVersion ? { version: 1, name: 'fuzz', ...doc } : doc), FIXTURE_SPEC);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('structural mutations of the valid specs', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 3 }), (which, ms) => {
        const seed = SEEDS[which % SEEDS.length]!;
        const mutated = ms.reduce<unknown>((spec, m) => mutate(spec, m), parseYaml(seed.text));
        check(stringify(mutated), seed.file);
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
  });

  it('textual mutations of the valid specs', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(edit, { minLength: 1, maxLength: 4 }), (which, edits) => {
        const seed = SEEDS[which % SEEDS.length]!;
        check(edits.reduce((t, e) => applyEdit(t, e), seed.text), seed.file);
      }),
      { seed: SEED + 2, numRuns: RUNS },
    );
  });

  it('tried every case, and refused most of them', () => {
    expect(tally.loaded + tally.refused).toBe(3 * RUNS);
    expect(tally.refused).toBeGreaterThan(RUNS);
    console.info(`spec fuzzer: ${tally.loaded + tally.refused} specs, ${tally.refused} refused with positions, ${tally.loaded} loaded`);
  });
});
