/**
 * From a validated spec to the normalized `Spec` the orchestrator consumes: defaults that
 * depend on position, commands as argv, golden files as absolute paths, policies resolved.
 * Only called once `specSchema` and `crossCheck` found nothing wrong.
 */
import { resolve } from 'node:path';
import { resolvePolicy } from './policy.js';
import type { SpecInput } from './schema.js';
import type { EnvironmentSpec, Expect, ImageSpec, OutputMatch, Spec, StepSpec } from './types.js';

type EnvironmentInput = SpecInput['environments'][string];
type StepInput = EnvironmentInput['steps'][number];
type MatchInput = NonNullable<StepInput['expect']['stdout']>;

export function normalize(input: SpecInput, dir: string): Spec {
  const images: Record<string, ImageSpec> = {};
  for (const [name, img] of Object.entries(input.images)) {
    images[name] = {
      dockerfile: img.dockerfile,
      context: img.context,
      ...(img.target !== undefined && { target: img.target }),
      args: { ...img.args },
      labels: { ...img.labels },
    };
  }
  const environments: Record<string, EnvironmentSpec> = {};
  for (const [name, env] of Object.entries(input.environments)) {
    environments[name] = environment(env, input.policy ?? {}, dir);
  }
  return { version: 1, name: input.name, images, environments };
}

function environment(env: EnvironmentInput, topPolicy: NonNullable<SpecInput['policy']>, dir: string): EnvironmentSpec {
  const stepTimeouts = env.steps.flatMap((s) => (s.timeout === undefined ? [] : [s.timeout]));
  const policy = resolvePolicy([topPolicy, env.policy ?? {}], stepTimeouts);
  const steps = env.steps.map(
    (s, i): StepSpec => ({
      name: s.name ?? `step-${i + 1}`,
      run: typeof s.run === 'string' ? ['/bin/sh', '-c', s.run] : [...s.run],
      env: { ...s.env },
      timeoutMs: s.timeout ?? policy.timeoutMs,
      expect: expectation(s.expect, dir),
    }),
  );
  return {
    image: env.image,
    env: { ...env.env },
    ...(env.workdir !== undefined && { workdir: env.workdir }),
    steps,
    outputs: [...env.outputs],
    policy,
    isolation: env.isolation,
    ...(env.isolation === 'vm' && {
      vm: {
        memoryBytes: env.vm?.memory ?? policy.memoryBytes,
        cpus: env.vm?.cpus ?? Math.ceil(policy.cpus),
        kernel: env.vm?.kernel ?? 'debian-cloud',
        accel: env.vm?.accel ?? 'auto',
        timeoutMs: env.vm?.timeout ?? steps.reduce((t, s) => t + s.timeoutMs, 0) + 60_000,
      },
    }),
  };
}

function expectation(e: StepInput['expect'], dir: string): Expect {
  return {
    exit: e.exit,
    ...(e.stdout !== undefined && { stdout: match(e.stdout, dir) }),
    ...(e.stderr !== undefined && { stderr: match(e.stderr, dir) }),
  };
}

function match(m: MatchInput, dir: string): OutputMatch {
  return 'file' in m ? { file: resolve(dir, m.file) } : { ...m };
}
