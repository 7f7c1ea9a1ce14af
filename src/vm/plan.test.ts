import { describe, expect, it } from 'vitest';

import { decodePlan, encodePlan, parseUser, planProblems, type GuestPlan } from './plan.js';

const plan: GuestPlan = {
  uid: 65534,
  gid: 65534,
  workdir: '/src',
  readOnlyRoot: true,
  lifetimeMs: 125_000,
  tmpfs: ['/tmp', '/out'],
  steps: [
    { name: 'build', argv: ['sh', '-c', 'make && echo "a b"'], env: { PATH: '/bin', EMPTY: '', 'VAL': 'a=b' }, timeoutMs: 60_000, expectExit: 0 },
    { name: 'ünïcode', argv: ['echo', 'ünïcode', ''], env: {}, timeoutMs: 1, expectExit: 7 },
  ],
  outputs: ['/out'],
};

describe('plan', () => {
  it('round-trips, keeping empty strings and non-ASCII', () => {
    expect(decodePlan(encodePlan(plan))).toEqual(plan);
    expect(decodePlan(encodePlan({ ...plan, workdir: '', readOnlyRoot: false, tmpfs: [], outputs: [], steps: [] }))).toMatchObject({ workdir: '', steps: [] });
  });

  it('lists every problem at once', () => {
    const problems = planProblems({
      ...plan,
      workdir: 'rel',
      tmpfs: ['/', '/a/../b'],
      outputs: ['out'],
      steps: [{ name: 'x\0', argv: [], env: { 'A=B': '1', C: 'nul\0' }, timeoutMs: 0, expectExit: 300 }],
    });
    expect(problems).toEqual([
      'workdir: expected an absolute path, got "rel"',
      'tmpfs[0]: cannot be /',
      'tmpfs[1]: must not contain `..`, got "/a/../b"',
      'outputs[0]: expected an absolute path, got "out"',
      'steps[0].name: contains a NUL byte',
      'steps[0].argv: expected at least a program',
      'steps[0].timeoutMs: expected an integer > 0, got 0',
      'steps[0].expectExit: expected 0..255, got 300',
      'steps[0].env: invalid name "A=B"',
      'steps[0].env.C: contains a NUL byte',
    ]);
    expect(() => encodePlan({ ...plan, workdir: 'rel' })).toThrow(TypeError);
  });

  it('takes numeric users only', () => {
    expect(parseUser('0:0')).toEqual({ uid: 0, gid: 0 });
    expect(parseUser('65534:65534')).toEqual({ uid: 65534, gid: 65534 });
    for (const bad of ['nobody', '1000', '1:2:3', '-1:0', '4294967295:0']) expect(() => parseUser(bad)).toThrow(/numeric/);
  });

  it('refuses a truncated or foreign plan', () => {
    const buf = encodePlan(plan);
    expect(() => decodePlan(buf.subarray(0, buf.length - 4))).toThrow();
    expect(() => decodePlan(Buffer.from('other/1\0'))).toThrow(/not a airlock-plan/);
  });
});
