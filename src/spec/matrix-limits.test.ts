import { describe, expect, it } from 'vitest';
import { issuesOf } from './testing/issues.js';

/** A spec whose matrix block (from line 8, or later after inputs) is `matrix`, and whose inputs are `inputs`. */
const spec = (matrix: string, inputs = '') =>
  `version: 1
name: m
images: { app: { dockerfile: Dockerfile } }
environments:
  t: { image: app, steps: [ { run: "true" } ] }
${inputs}matrix:
  environment: t
${matrix}
`;

describe('matrix bounds and shape, checked at load', () => {
  it('refuses the 424-byte spec of 8 axes × 10 values before anything is built', () => {
    const axes = Array.from({ length: 8 }, (_, i) => `a${i}: [0,1,2,3,4,5,6,7,8,9]`).join(', ');
    expect(issuesOf(spec(`  axes: { ${axes} }`))).toEqual([
      { path: 'matrix.axes', line: 8, column: 9, message: expect.stringContaining('the axes multiply to 100000000 combinations, more than the limit of 4096') },
    ]);
  });

  it('refuses more than 256 cells, at the matrix', () => {
    const values = `[${Array.from({ length: 17 }, (_, i) => i).join(',')}]`;
    expect(issuesOf(spec(`  axes: { a: ${values}, b: ${values} }`))).toEqual([
      { path: 'matrix', line: 7, column: 3, message: 'the matrix has 289 cells, more than the limit of 256' },
    ]);
  });

  it('refuses a matrix whose every cell is excluded, at exclude', () => {
    expect(issuesOf(spec('  axes: { n: [1, 2] }\n  exclude: [ { n: 1 }, { n: 2 } ]'))).toEqual([
      { path: 'matrix.exclude', line: 9, column: 12, message: 'the matrix has no cells left (every combination is excluded)' },
    ]);
  });

  it('refuses two identical cells, at the include entry that repeats one', () => {
    expect(issuesOf(spec('  axes: { n: [1] }\n  include: [ { x: 1, n: 2 }, { n: 2, x: 1 } ]'))).toEqual([
      { path: 'matrix.include[1]', line: 9, column: 30, message: 'cells 2 and 3 are the same cell (n=2,x=1)' },
    ]);
  });

  it('refuses an empty axis and an exclude key that is no axis, each at its node', () => {
    expect(issuesOf(spec('  axes: { n: [], m: [1] }\n  exclude: [ { nn: 1 } ]'))).toEqual([
      { path: 'matrix.axes.n', line: 8, column: 14, message: 'an axis needs at least one value' },
    ]);
    expect(issuesOf(spec('  axes: { n: [1, 2] }\n  exclude: [ { nn: 1 } ]'))).toEqual([
      { path: 'matrix.exclude[0].nn', line: 9, column: 20, message: '"nn" is not an axis of the matrix (axes: n) (did you mean "n"?)' },
    ]);
  });

  it('refuses duplicate input names, at the second one', () => {
    const inputs = 'inputs:\n  - { name: src, url: "http://x/a" }\n  - { name: src, url: "http://x/b" }\n';
    expect(issuesOf(spec('  axes: { n: [1] }', inputs))).toEqual([
      { path: 'inputs[1].name', line: 8, column: 13, message: 'duplicate input name "src" (also used by inputs[0])' },
    ]);
  });
});
