/**
 * From a validated spec to the normalized `Spec` the orchestrator consumes: defaults that
 * depend on position, commands as argv, golden files as absolute paths, policies resolved.
 * Only called once `specSchema` and `crossCheck` found nothing wrong.
 */
import { resolve } from 'node:path';
import { resolvePolicy } from './policy.js';
import type { SpecInput } from './schema.js';
import type { EnvironmentSpec, Expect, ImageSpec, OutputMatch, ServiceSpec, Spec, StepSpec } from './types.js';

type EnvironmentInput = SpecInput['environments'][string];
type StepInput = EnvironmentInput['steps'][number];
type ServiceInput = EnvironmentInput['services'][string];
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
  const m = input.matrix;
  return {
    version: 1,
    name: input.name,
    images,
    environments,
    inputs: input.inputs.map((i) => ({ name: i.name, url: i.url, ...(i.sha256 !== undefined && { sha256: i.sha256 }) })),
    bases: Object.fromEntries(Object.entries(input.bases).map(([k, b]) => [k, { debian: b.debian, packages: [...b.packages] }])),
    ...(m && {
      matrix: {
        environment: m.environment,
        axes: m.axes,
        include: m.include,
        exclude: m.exclude,
        ...(m.maxParallel !== undefined && { maxParallel: m.maxParallel }),
        failFast: m.failFast,
        ...(m.cellTimeout !== undefined && { cellTimeoutMs: m.cellTimeout }),
      },
    }),
  };
}

const argvOf = (run: string | string[]): string[] => (typeof run === 'string' ? ['/bin/sh', '-c', run] : [...run]);

function service(name: string, svc: ServiceInput, topPolicy: NonNullable<SpecInput['policy']>): ServiceSpec {
  const h = svc.healthcheck;
  return {
    name,
    image: svc.image,
    ...(svc.run !== undefined && { run: argvOf(svc.run) }),
    env: { ...svc.env },
    ...(h && {
      healthcheck: { test: [...h.test], intervalMs: h.interval ?? 1_000, timeoutMs: h.timeout ?? 3_000, retries: h.retries, startPeriodMs: h.startPeriod ?? 0 },
    }),
    ...(svc.wait && { wait: 'command' in svc.wait ? { command: [...svc.wait.command] } : { ...svc.wait } }),
    startupTimeoutMs: svc.startupTimeout ?? 60_000,
    policy: resolvePolicy([topPolicy, svc.policy ?? {}]),
  };
}

function environment(env: EnvironmentInput, topPolicy: NonNullable<SpecInput['policy']>, dir: string): EnvironmentSpec {
  const stepTimeouts = env.steps.flatMap((s) => (s.timeout === undefined ? [] : [s.timeout]));
  const resolved = resolvePolicy([topPolicy, env.policy ?? {}], stepTimeouts);
  // a guest larger than the policy is a loosening (check.ts refuses it unless `loosen` names it): record it
  const vmMemory = env.vm?.memory ?? resolved.memoryBytes;
  const vmCpus = env.vm?.cpus ?? Math.ceil(resolved.cpus);
  const bigger = [...(vmMemory > resolved.memoryBytes ? ['memory'] : []), ...(vmCpus > Math.ceil(resolved.cpus) ? ['cpus'] : [])];
  const policy = env.isolation === 'vm' && bigger.some((k) => !resolved.loosened.includes(k)) ? { ...resolved, loosened: [...new Set([...resolved.loosened, ...bigger])] } : resolved;
  const steps = env.steps.map(
    (s, i): StepSpec => ({
      name: s.name ?? `step-${i + 1}`,
      run: argvOf(s.run),
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
    services: Object.entries(env.services).map(([n, svc]) => service(n, svc, topPolicy)),
    isolation: env.isolation,
    ...(env.isolation === 'vm' && {
      vm: {
        memoryBytes: vmMemory,
        cpus: vmCpus,
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
