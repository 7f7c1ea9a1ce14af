import { describe, expect, it } from 'vitest';
import { isAirlockError, type ErrorCode } from '../errors.js';
import { cellId, expandMatrix, matchCells, parseCellSelector, type Cell } from './matrix.js';

function codeOf(fn: () => unknown): { code: ErrorCode; message: string; details: Record<string, unknown> } {
  try {
    fn();
  } catch (e) {
    if (isAirlockError(e)) return { code: e.code, message: e.message, details: e.details };
    throw e;
  }
  throw new Error('expected an AirlockError');
}

// The worked examples of docs.github.com, "Running variations of jobs in a workflow"
// (github/docs: content/actions/.../running-variations-of-jobs-in-a-workflow.md and
// data/reusables/actions/jobs/matrix-*.md), reproduced exactly.
describe('expandMatrix: GitHub documented examples', () => {
  it('orders jobs with the first variable slowest ("Adding a matrix strategy")', () => {
    const cells = expandMatrix({ axes: { version: [10, 12, 14], os: ['ubuntu-latest', 'windows-latest'] } });
    expect(cells).toEqual([
      { version: 10, os: 'ubuntu-latest' },
      { version: 10, os: 'windows-latest' },
      { version: 12, os: 'ubuntu-latest' },
      { version: 12, os: 'windows-latest' },
      { version: 14, os: 'ubuntu-latest' },
      { version: 14, os: 'windows-latest' },
    ]);
  });

  it('"Expanding or adding matrix configurations": the fruit/animal example gives the six documented jobs', () => {
    const cells = expandMatrix({
      axes: { fruit: ['apple', 'pear'], animal: ['cat', 'dog'] },
      include: [
        { color: 'green' },
        { color: 'pink', animal: 'cat' },
        { fruit: 'apple', shape: 'circle' },
        { fruit: 'banana' },
        { fruit: 'banana', animal: 'cat' },
      ],
    });
    expect(cells).toEqual([
      { fruit: 'apple', animal: 'cat', color: 'pink', shape: 'circle' },
      { fruit: 'apple', animal: 'dog', color: 'green', shape: 'circle' },
      { fruit: 'pear', animal: 'cat', color: 'pink' },
      { fruit: 'pear', animal: 'dog', color: 'green' },
      { fruit: 'banana' },
      { fruit: 'banana', animal: 'cat' },
    ]);
  });

  it('"Example: Expanding configurations": npm: 6 joins only the windows-latest/16 job', () => {
    const cells = expandMatrix({
      axes: { os: ['windows-latest', 'ubuntu-latest'], node: [12, 14, 16] },
      include: [{ os: 'windows-latest', node: 16, npm: 6 }],
    });
    expect(cells).toHaveLength(6);
    expect(cells.filter((c) => 'npm' in c)).toEqual([{ os: 'windows-latest', node: 16, npm: 6 }]);
  });

  it('"Example: Adding configurations": 9 product jobs plus windows-latest/17 make 10', () => {
    const cells = expandMatrix({
      axes: { os: ['macos-latest', 'windows-latest', 'ubuntu-latest'], version: [12, 14, 16] },
      include: [{ os: 'windows-latest', version: 17 }],
    });
    expect(cells).toHaveLength(10);
    expect(cells.at(-1)).toEqual({ os: 'windows-latest', version: 17 });
  });

  it('a matrix of only include entries runs one job per entry', () => {
    const cells = expandMatrix({
      axes: {},
      include: [
        { site: 'production', datacenter: 'site-a' },
        { site: 'staging', datacenter: 'site-b' },
      ],
    });
    expect(cells).toEqual([
      { site: 'production', datacenter: 'site-a' },
      { site: 'staging', datacenter: 'site-b' },
    ]);
  });

  it('"Excluding matrix configurations": 12 configurations minus 1 full and 2 partial matches make 9', () => {
    const cells = expandMatrix({
      axes: { os: ['macos-latest', 'windows-latest'], version: [12, 14, 16], environment: ['staging', 'production'] },
      exclude: [
        { os: 'macos-latest', version: 12, environment: 'production' },
        { os: 'windows-latest', version: 16 },
      ],
    });
    expect(cells).toHaveLength(9);
    expect(cells).not.toContainEqual({ os: 'macos-latest', version: 12, environment: 'production' });
    expect(cells).toContainEqual({ os: 'macos-latest', version: 12, environment: 'staging' });
    expect(cells.filter((c) => c.os === 'windows-latest' && c.version === 16)).toEqual([]);
  });

  it('include is processed after exclude, so it can add an excluded combination back', () => {
    const cells = expandMatrix({
      axes: { os: ['linux', 'windows'], arch: ['x64', 'arm64'] },
      exclude: [{ os: 'windows', arch: 'arm64' }],
      include: [{ os: 'windows', arch: 'arm64', experimental: true }],
    });
    expect(cells).toEqual([
      { os: 'linux', arch: 'x64' },
      { os: 'linux', arch: 'arm64' },
      { os: 'windows', arch: 'x64' },
      { os: 'windows', arch: 'arm64', experimental: true },
    ]);
  });

  it('the "closer to reality" perl example: 5 ubuntu versions plus 2 macos jobs', () => {
    const cells = expandMatrix({
      axes: { os: ['ubuntu-latest'], perl: ['5.16', '5.20', '5.26', '5.30', 'latest'] },
      include: [
        { os: 'macos-latest', perl: '5.26' },
        { os: 'macos-latest', perl: 'latest' },
      ],
    });
    expect(cells).toHaveLength(7);
    expect(cells.slice(5)).toEqual([
      { os: 'macos-latest', perl: '5.26' },
      { os: 'macos-latest', perl: 'latest' },
    ]);
  });
});

describe('expandMatrix: the finer rules', () => {
  it('an include never matches on keys added by an earlier include', () => {
    // color is not an axis: the second entry's color is an extra, its filter is empty.
    const cells = expandMatrix({ axes: { a: [1, 2] }, include: [{ a: 1, color: 'red' }, { color: 'blue' }] });
    expect(cells).toEqual([
      { a: 1, color: 'blue' },
      { a: 2, color: 'blue' },
    ]);
  });

  it('object values match leaf by leaf, partially, as GitHub filters do', () => {
    const cells = expandMatrix({
      axes: { tool: [{ name: 'gcc', version: 12 }, { name: 'clang', version: 17 }] },
      exclude: [{ tool: { name: 'clang' } }],
      include: [{ tool: { version: 12 }, lto: true }],
    });
    expect(cells).toEqual([{ tool: { name: 'gcc', version: 12 }, lto: true }]);
  });

  it('compares strictly: the number 12 is not the string "12"', () => {
    const cells = expandMatrix({ axes: { v: [12] }, include: [{ v: '12', extra: 1 }] });
    expect(cells).toEqual([{ v: 12 }, { v: '12', extra: 1 }]);
  });

  it('rejects what GitHub rejects, listing every problem', () => {
    const e = codeOf(() =>
      expandMatrix({ axes: { a: [], b: [1] }, exclude: [{ c: 1 }, {}], include: [{}] }, 'environments.build.matrix'),
    );
    expect(e.code).toBe('SPEC_INVALID');
    expect((e.details.issues as { path: string }[]).map((i) => i.path)).toEqual([
      'environments.build.matrix.axes.a',
      'environments.build.matrix.exclude[0].c',
      'environments.build.matrix.exclude[1]',
      'environments.build.matrix.include[0]',
    ]);
    expect(e.message).toContain('"c" is not an axis of the matrix (axes: a, b)');
  });

  it('rejects a matrix that excludes every cell, has nothing at all, or is too large', () => {
    expect(codeOf(() => expandMatrix({ axes: { a: [1] }, exclude: [{ a: 1 }] })).message).toContain('no cells left');
    expect(codeOf(() => expandMatrix({ axes: {} })).message).toContain('at least one axis or include entry');
    const big = Array.from({ length: 17 }, (_, i) => i);
    expect(codeOf(() => expandMatrix({ axes: { a: big, b: big } })).message).toContain('289 cells, more than the limit of 256');
  });

  it('rejects two identical cells, which would be one cell here', () => {
    const e = codeOf(() => expandMatrix({ axes: {}, include: [{ fruit: 'banana' }, { fruit: 'banana' }] }));
    expect(e.code).toBe('SPEC_INVALID');
    expect(e.message).toContain('cells 1 and 2 are the same cell (fruit=banana)');
  });

  it('does not modify the spec it is given', () => {
    const spec = { axes: { a: [1, 2] }, include: [{ a: 1, x: { deep: true } }] };
    const before = structuredClone(spec);
    expandMatrix(spec);
    expect(spec).toEqual(before);
  });
});

describe('cellId', () => {
  it('sorts keys and writes plain values bare', () => {
    expect(cellId({ opt: '-O2', cc: 'gcc' })).toBe('cc=gcc,opt=-O2');
    expect(cellId({ n: 3, ok: true, x: null })).toBe('n=3,ok=true,x=null');
  });

  it('quotes strings that would be ambiguous and writes objects as canonical JSON', () => {
    expect(cellId({ a: 'x,y', b: 'k=v', c: '', d: ' pad', e: 'say "hi"' })).toBe('a="x,y",b="k=v",c="",d=" pad",e="say \\"hi\\""');
    expect(cellId({ tool: { version: 12, name: 'gcc' } })).toBe('tool={"name":"gcc","version":12}');
    expect(cellId({ list: [1, 'a'] })).toBe('list=[1,"a"]');
  });

  it('is stable whatever the key order', () => {
    expect(cellId({ b: 1, a: 2 })).toBe(cellId({ a: 2, b: 1 }));
  });
});

describe('parseCellSelector and matchCells', () => {
  const cells: Cell[] = expandMatrix({
    axes: { cc: ['gcc', 'clang'], opt: ['-O0', '-O2'], lto: [true, false] },
    include: [{ cc: 'gcc', opt: '-O2', lto: true, note: 'a,b' }, { cc: 'tcc', tool: { v: 1 } }],
  });

  it('parses key=value pairs, quoted text and JSON values', () => {
    expect(parseCellSelector('cc=gcc,opt=-O2')).toEqual({ cc: 'gcc', opt: '-O2' });
    expect(parseCellSelector(' cc = gcc , opt=-O2 ')).toEqual({ cc: 'gcc', opt: '-O2' });
    expect(parseCellSelector('note="a,b",tool={"v":1}')).toEqual({ note: 'a,b', tool: '{"v":1}' });
    expect(parseCellSelector('"odd key"=x,flags=-DX=1')).toEqual({ 'odd key': 'x', flags: '-DX=1' });
  });

  it('round-trips every cell id', () => {
    for (const cell of cells) expect(matchCells(cells, parseCellSelector(cellId(cell)))).toEqual([cell]);
  });

  it('refuses malformed selectors as usage errors', () => {
    for (const bad of ['', 'cc', 'cc=gcc,', '=x', 'a="open', 'a={"x":1', 'a=1,a=2', 'a="x"y']) {
      expect(codeOf(() => parseCellSelector(bad)).code, bad).toBe('USAGE');
    }
  });

  it('matches partially, by text for numbers and booleans, by value for objects', () => {
    expect(matchCells(cells, { cc: 'clang' })).toHaveLength(4);
    expect(matchCells(cells, { cc: 'gcc', lto: 'true' })).toHaveLength(2);
    expect(matchCells(cells, parseCellSelector('tool={ "v" : 1 }'))).toEqual([{ cc: 'tcc', tool: { v: 1 } }]);
    expect(matchCells(cells, { cc: 'icc' })).toEqual([]);
  });

  it('names a key no cell has, rather than selecting nothing', () => {
    const e = codeOf(() => matchCells(cells, { compiler: 'gcc' }));
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('no key "compiler" in the matrix (keys: cc, opt, lto, note, tool)');
  });
});
