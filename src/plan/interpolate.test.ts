import { describe, expect, it } from 'vitest';
import { AirlockError } from '../errors.js';
import { interpolate, interpolateDeep } from './interpolate.js';

const cell = { cc: 'gcc', opt: '-O2', n: 3, lto: false, none: null, tool: { name: 'clang', v: { major: 17 } } };

function error(fn: () => unknown): AirlockError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AirlockError) return e;
    throw e;
  }
  throw new Error('expected an AirlockError');
}

describe('interpolate', () => {
  it('replaces matrix references, whatever the whitespace inside the braces', () => {
    expect(interpolate('${{ matrix.cc }} ${{matrix.opt}} ${{\tmatrix.n\n}}', cell, 'x')).toBe('gcc -O2 3');
    expect(interpolate('CFLAGS=${{ matrix.opt }}-g', cell, 'x')).toBe('CFLAGS=-O2-g');
  });

  it('writes booleans and numbers as text, null as nothing, objects as canonical JSON', () => {
    expect(interpolate('${{ matrix.lto }}|${{ matrix.none }}|${{ matrix.tool }}', cell, 'x')).toBe('false||{"name":"clang","v":{"major":17}}');
  });

  it('reads properties of object values', () => {
    expect(interpolate('${{ matrix.tool.name }}-${{ matrix.tool.v.major }}', cell, 'x')).toBe('clang-17');
    expect(error(() => interpolate('${{ matrix.tool.nope }}', cell, 'w')).message).toContain('matrix.tool has no property "nope"');
    expect(error(() => interpolate('${{ matrix.cc.length }}', cell, 'w')).message).toContain('matrix.cc has no property "length"');
  });

  it('leaves text without references alone and never rescans what it substituted', () => {
    expect(interpolate('plain $HOME ${ x } {{ y }}', cell, 'x')).toBe('plain $HOME ${ x } {{ y }}');
    expect(interpolate('${{ matrix.a }}', { a: '${{ matrix.b }}' }, 'x')).toBe('${{ matrix.b }}');
  });

  it('names the place and the known axes when an axis is unknown', () => {
    const e = error(() => interpolate('make CC=${{ matrix.compiler }}', cell, 'environments.build.steps[0].run[1]'));
    expect(e.code).toBe('SPEC_INVALID');
    expect(e.message).toBe(
      'environments.build.steps[0].run[1]: ${{ matrix.compiler }}: the matrix has no axis "compiler" (axes: cc, opt, n, lto, none, tool)',
    );
    expect(e.details).toMatchObject({ axis: 'compiler', known: Object.keys(cell) });
  });

  it('evaluates nothing but matrix references', () => {
    for (const expr of ['${{ github.sha }}', '${{ matrix.cc == "gcc" }}', '${{ env.X }}', '${{ matrix }}', "${{ matrix['cc'] }}", '${{ toJSON(matrix) }}']) {
      const e = error(() => interpolate(expr, cell, 'w'));
      expect(e.code, expr).toBe('SPEC_INVALID');
      expect(e.message).toContain('only ${{ matrix.<axis> }} can be used here');
    }
  });

  it('refuses an unterminated ${{', () => {
    expect(error(() => interpolate('a ${{ matrix.cc }} b ${{ matrix.opt', cell, 'w')).message).toBe('w: unterminated ${{ at offset 21');
  });
});

describe('interpolateDeep', () => {
  it('interpolates every string in arrays and objects, naming the exact place on error', () => {
    const steps = { run: ['make', 'CC=${{ matrix.cc }}'], env: { CFLAGS: '${{ matrix.opt }}', N: 1 }, keep: true };
    expect(interpolateDeep(steps, cell, 'steps[0]')).toEqual({ run: ['make', 'CC=gcc'], env: { CFLAGS: '-O2', N: 1 }, keep: true });
    expect(steps.run[1]).toBe('CC=${{ matrix.cc }}');
    expect(error(() => interpolateDeep({ env: { 'A.B': ['${{ matrix.x }}'] } }, cell, 'e')).message).toMatch(/^e\.env\["A\.B"\]\[0\]: /);
  });

  it('leaves keys alone', () => {
    expect(interpolateDeep({ '${{ matrix.cc }}': 'v' }, cell, 'x')).toEqual({ '${{ matrix.cc }}': 'v' });
  });
});
