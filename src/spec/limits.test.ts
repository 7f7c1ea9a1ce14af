import { describe, expect, it } from 'vitest';
import { issuesOf } from './testing/issues.js';

/** A spec whose top-level policy line (line 7) is `policy`. */
const spec = (policy: string) =>
  `version: 1
name: l
images: { app: { dockerfile: Dockerfile } }
environments:
  t: { image: app, steps: [ { run: "true" } ] }
policy:
  ${policy}
  loosen: [memory, pids, cpus]
`;

describe('policy limits are ranges, checked at load with positions', () => {
  it.each([
    ['cpus: 1e-12', 'policy.cpus', /must be at least 0\.01 \(the engine's minimum; less would mean no CPU limit\), got 1e-12/],
    ['cpus: 0.001', 'policy.cpus', /must be at least 0\.01/],
    ['cpus: 0', 'policy.cpus', /must be at least 0\.01/],
    ['cpus: 100000', 'policy.cpus', /must be at most 1024/],
    ['pids: 0', 'policy.pids', /must be at least 1/],
    ['pids: -1', 'policy.pids', /must be at least 1/],
    ['pids: 99999999', 'policy.pids', /must be at most 4194304/],
    ['memory: 1m', 'policy.memory', /must be at least 6m/i],
    ['memory: 4t', 'policy.memory', /must be at most/],
    // the engine refuses these at create time: refused at load instead, with a position
    ['user: "4294967296"', 'policy.user', /a uid or gid is at most 4294967294/],
    ['user: "1000:4294967295"', 'policy.user', /a uid or gid is at most 4294967294/],
    ['user: 4294967296', 'policy.user', /expected a user|at most 4294967294/],
  ])('%s', (line, path, message) => {
    const found = issuesOf(spec(line));
    expect(found).toEqual([expect.objectContaining({ path, line: 7 })]);
    expect(found[0]!.message).toMatch(message);
  });

  it('accepts the smallest CPU limit the engine takes', () => {
    expect(() => issuesOf(spec('cpus: 0.01'))).toThrow('expected the spec to be refused');
  });

  it.each([
    ['cpus: .inf', 'got infinity'],
    ['cpus: -.inf', 'got infinity'],
    ['cpus: .nan', 'got NaN'],
    ['pids: .inf', 'got infinity'],
  ])('%s says "%s", not "got number"', (line, got) => {
    const [issue] = issuesOf(spec(line));
    expect(issue!.message).toContain(got);
    expect(issue!.message).not.toContain('got number');
  });
});
