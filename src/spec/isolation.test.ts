import { describe, expect, it } from 'vitest';
import { parseSpec } from './load.js';
import { FIXTURE_SPEC, issuesOf } from './testing/issues.js';

const FILE = FIXTURE_SPEC;
const issues = issuesOf;

const spec = (env: string) =>
  `version: 1\nname: iso\nimages:\n  box: { dockerfile: Dockerfile }\nenvironments:\n  e:\n    image: box\n${env}    steps:\n      - run: ["true"]\n        timeout: 10s\n`;


describe('isolation', () => {
  it('defaults to container, without vm settings', () => {
    const env = parseSpec(spec(''), FILE).spec.environments.e!;
    expect(env.isolation).toBe('container');
    expect(env.vm).toBeUndefined();
  });

  it('vm resolves guest settings from the policy and the step timeouts', () => {
    const env = parseSpec(spec('    isolation: vm\n    vm: { accel: tcg }\n'), FILE).spec.environments.e!;
    expect(env.vm).toEqual({ memoryBytes: 512 * 1024 ** 2, cpus: 1, kernel: 'debian-cloud', accel: 'tcg', timeoutMs: 70_000 });
  });

  it('refuses an unknown isolation, naming the choices', () => {
    const [issue] = issues(spec('    isolation: kvm\n'));
    expect(issue).toMatchObject({ path: 'environments.e.isolation', line: 8 });
    expect(issue!.message).toContain('expected container, gvisor or vm, got "kvm"');
  });

  it('refuses vm settings on a container environment', () => {
    const [issue] = issues(spec('    isolation: gvisor\n    vm: { cpus: 2 }\n'));
    expect(issue).toMatchObject({ path: 'environments.e.vm' });
    expect(issue!.message).toContain('vm settings apply only with isolation: vm (this environment is gvisor)');
  });
});
