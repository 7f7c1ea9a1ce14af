/**
 * Checks that relate values to each other or to the file system: image references, unique
 * step names, golden files, and policy loosening. They read the raw YAML data tolerantly —
 * skipping whatever is malformed, which the schema reports — so that one run reports every
 * problem at once rather than only the first kind found.
 */
import { statSync } from 'node:fs';
import type { z } from 'zod';
import { matrixProblems } from '../plan/matrix.js';
import { confine } from './confine.js';
import { didYouMean, type PathIssue } from './issues.js';
import {
  LOOSENABLE_KEYS,
  layerViolations,
  resolvePolicy,
  stepTimeoutViolation,
  type LoosenableKey,
  type PolicyLayer,
} from './policy.js';
import { matrixSchema, policyLayerSchema, stepSchema } from './schema.js';
import type { Policy } from './types.js';
import { formatSize, parseSize } from '../util/units.js';

type Raw = Record<string, unknown>;

const asRecord = (v: unknown): Raw | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : undefined;

/** Every cross-reference, file and policy problem in the raw spec data; `dir` is the spec's folder (the project). */
export function crossCheck(data: unknown, dir: string): PathIssue[] {
  const spec = asRecord(data);
  if (spec === undefined) return [];
  const out: PathIssue[] = [];
  const images = asRecord(spec.images);
  for (const [imageName, image] of Object.entries(images ?? {})) {
    const img = asRecord(image);
    for (const key of ['dockerfile', 'context'] as const) {
      const written = img?.[key] ?? (key === 'context' && img !== undefined ? '.' : undefined);
      // Absolute paths are the schema's to report.
      const problem = typeof written === 'string' && written !== '' && !written.startsWith('/') ? pathProblem(dir, written) : undefined;
      if (problem !== undefined) out.push({ path: ['images', imageName, ...(img?.[key] === undefined ? [] : [key])], message: problem });
    }
  }
  const top = readLayer(spec.policy);
  const topAllowed = top.loosen ?? [];
  for (const v of layerViolations(top, topAllowed)) out.push({ path: ['policy', ...v.at], message: v.message });

  for (const [envName, envRaw] of Object.entries(asRecord(spec.environments) ?? {})) {
    const env = asRecord(envRaw);
    if (env === undefined) continue;
    const at = ['environments', envName];
    if (images !== undefined && typeof env.image === 'string' && !Object.hasOwn(images, env.image)) {
      const defined = Object.keys(images);
      out.push({
        path: [...at, 'image'],
        message:
          `image "${env.image}" is not defined in images (defined: ${defined.join(', ') || 'none'})` +
          didYouMean(env.image, defined),
      });
    }
    const services = asRecord(env.services) ?? {};
    if (Object.keys(services).length > 0 && env.isolation === 'vm') {
      out.push({ path: [...at, 'services'], message: 'services need a container cell (isolation: container or gvisor); a VM guest has no network card to reach them' });
    }
    for (const [svcName, svcRaw] of Object.entries(services)) {
      const svcLayer = readLayer(asRecord(svcRaw)?.policy);
      for (const v of layerViolations(svcLayer, [...topAllowed, ...(svcLayer.loosen ?? [])])) {
        out.push({ path: [...at, 'services', svcName, 'policy', ...v.at], message: v.message });
      }
    }
    if (env.vm !== undefined && env.isolation !== 'vm') {
      out.push({ path: [...at, 'vm'], message: `vm settings apply only with isolation: vm (this environment is ${typeof env.isolation === 'string' ? env.isolation : 'container'})` });
    }
    const layer = readLayer(env.policy);
    const allowed = [...topAllowed, ...(layer.loosen ?? [])];
    for (const v of layerViolations(layer, allowed)) {
      out.push({ path: [...at, 'policy', ...v.at], message: v.message });
    }
    const policy = resolvePolicy([top, layer]);
    if (env.isolation === 'vm') out.push(...vmSizeIssues(asRecord(env.vm), policy, allowed, [...at, 'vm']));
    const steps = Array.isArray(env.steps) ? env.steps : [];
    out.push(...stepNameIssues(steps, at));
    steps.forEach((stepRaw, i) => {
      const step = asRecord(stepRaw);
      if (step === undefined) return;
      const timeout = pick(stepSchema.shape.timeout, step.timeout);
      const v = timeout === undefined ? undefined : stepTimeoutViolation(timeout, policy.timeoutMs, allowed);
      if (v !== undefined) out.push({ path: [...at, 'steps', i, 'timeout'], message: v.message });
      const expect = asRecord(step.expect);
      for (const stream of ['stdout', 'stderr'] as const) {
        const file = asRecord(expect?.[stream])?.file;
        if (typeof file !== 'string' || file === '') continue;
        const where = confine(dir, file);
        const problem = !where.ok ? where.problem : isFile(where.at.path) ? undefined : `golden file "${file}" not found (looked for ${where.at.path})`;
        if (problem !== undefined) out.push({ path: [...at, 'steps', i, 'expect', stream, 'file'], message: problem });
      }
    });
  }
  out.push(...matrixIssues(spec), ...inputIssues(spec.inputs));
  return out;
}

/** Input names are unique: each becomes the file `.airlock/inputs/<name>` in every build context. */
function inputIssues(inputs: unknown): PathIssue[] {
  const out: PathIssue[] = [];
  const first = new Map<string, number>();
  (Array.isArray(inputs) ? inputs : []).forEach((input, i) => {
    const name = asRecord(input)?.name;
    if (typeof name !== 'string') return;
    const earlier = first.get(name);
    if (earlier === undefined) first.set(name, i);
    else out.push({ path: ['inputs', i, 'name'], message: `duplicate input name "${name}" (also used by inputs[${earlier}])` });
  });
  return out;
}

const MATRIX_REF = /\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}/g;

/** Every string under `value` with its path, for finding `${{ matrix.x }}` references. */
function* strings(value: unknown, path: (string | number)[]): Generator<[string, (string | number)[]]> {
  if (typeof value === 'string') yield [value, path];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, [...path, i]);
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) yield* strings(v, [...path, k]);
}

/**
 * The matrix names a defined environment, excludes only name axes, and every
 * `${{ matrix.x }}` names an axis (or an include key), inside the matrix
 * environment or an image's build args — nowhere else can a cell's values reach.
 */
function matrixIssues(spec: Record<string, unknown>): PathIssue[] {
  const out: PathIssue[] = [];
  const matrix = asRecord(spec.matrix);
  const axes = Object.keys(asRecord(matrix?.axes) ?? {});
  const includeKeys = (Array.isArray(matrix?.include) ? matrix.include : []).flatMap((i) => Object.keys(asRecord(i) ?? {}));
  const known = [...new Set([...axes, ...includeKeys])];
  const envs = asRecord(spec.environments) ?? {};
  const target = typeof matrix?.environment === 'string' ? matrix.environment : undefined;
  if (matrix && target !== undefined && !Object.hasOwn(envs, target)) {
    out.push({ path: ['matrix', 'environment'], message: `environment "${target}" is not defined (defined: ${Object.keys(envs).join(', ')})${didYouMean(target, Object.keys(envs))}` });
  }
  // Expanded here, before any engine is contacted: an empty, all-excluded, duplicated or huge
  // matrix is a spec error with a position, not a crash halfway through a run.
  const valid = pick(matrixSchema, spec.matrix);
  for (const p of valid === undefined ? [] : matrixProblems(valid)) {
    const key = p.path.at(-1);
    const hint = p.path[0] === 'exclude' && typeof key === 'string' ? didYouMean(key, axes) : '';
    out.push({ path: ['matrix', ...p.path], message: p.message + hint });
  }
  const check = (value: unknown, path: (string | number)[], allowed: boolean) => {
    for (const [text, at] of strings(value, path)) {
      for (const m of text.matchAll(MATRIX_REF)) {
        const ref = m[1]!;
        if (!matrix) out.push({ path: at, message: `${m[0]} used but the spec defines no matrix` });
        else if (!allowed) out.push({ path: at, message: `${m[0]} can only be used in the matrix environment "${target}" or in image build args` });
        else if (!known.includes(ref)) out.push({ path: at, message: `${m[0]}: no axis "${ref}" (axes: ${known.join(', ')})${didYouMean(ref, known)}` });
      }
    }
  };
  for (const [imageName, image] of Object.entries(asRecord(spec.images) ?? {})) {
    check(asRecord(image)?.args, ['images', imageName, 'args'], true);
  }
  for (const [envName, env] of Object.entries(envs)) {
    const e = asRecord(env);
    check({ env: e?.env, steps: e?.steps, services: e?.services }, ['environments', envName], envName === target);
  }
  return out;
}

/** Step names after defaulting ("step-<n>") must be unique within the environment. */
function stepNameIssues(steps: readonly unknown[], at: readonly string[]): PathIssue[] {
  const out: PathIssue[] = [];
  const firstUse = new Map<string, number>();
  steps.forEach((stepRaw, i) => {
    const step = asRecord(stepRaw);
    if (step === undefined) return;
    const explicit = typeof step.name === 'string';
    const name = explicit ? (step.name as string) : step.name === undefined ? `step-${i + 1}` : undefined;
    if (name === undefined) return;
    const first = firstUse.get(name);
    if (first === undefined) {
      firstUse.set(name, i);
      return;
    }
    out.push(
      explicit
        ? { path: [...at, 'steps', i, 'name'], message: `duplicate step name "${name}" (also used by steps[${first}])` }
        : {
            path: [...at, 'steps', i],
            message: `this step's default name "${name}" is already used by steps[${first}]; give it a name`,
          },
    );
  });
  return out;
}

function pick<S extends z.ZodType>(schema: S, value: unknown): z.output<S> | undefined {
  const r = schema.safeParse(value);
  return r.success ? r.data : undefined;
}

/** The valid parts of one level of policy; invalid values are the schema's to report. */
function readLayer(raw: unknown): PolicyLayer {
  const r = asRecord(raw);
  if (r === undefined) return {};
  const s = policyLayerSchema.shape;
  const loosen = Array.isArray(r.loosen)
    ? r.loosen.filter((k): k is LoosenableKey => (LOOSENABLE_KEYS as readonly unknown[]).includes(k))
    : undefined;
  return {
    readOnlyRootfs: pick(s.readOnlyRootfs, r.readOnlyRootfs),
    tmpfs: pick(s.tmpfs, r.tmpfs),
    user: pick(s.user, r.user),
    memory: pick(s.memory, r.memory),
    pids: pick(s.pids, r.pids),
    cpus: pick(s.cpus, r.cpus),
    timeout: pick(s.timeout, r.timeout),
    loosen,
  };
}

function pathProblem(dir: string, written: string): string | undefined {
  const where = confine(dir, written);
  return where.ok ? undefined : where.problem;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * A VM guest is sized by the policy like a container cell: more memory or CPUs than the
 * environment's policy is a loosening, allowed only when `loosen` names it (and then recorded).
 */
function vmSizeIssues(vm: Record<string, unknown> | undefined, policy: Policy, allowed: readonly LoosenableKey[], at: (string | number)[]): PathIssue[] {
  const out: PathIssue[] = [];
  const memory = typeof vm?.memory === 'string' || typeof vm?.memory === 'number' ? safeSize(vm.memory) : undefined;
  if (memory !== undefined && memory > policy.memoryBytes && !allowed.includes('memory')) {
    out.push({ path: [...at, 'memory'], message: `guest memory ${formatSize(memory)} is more than the policy's ${formatSize(policy.memoryBytes)}; add "memory" to policy.loosen to allow it` });
  }
  const cpus = typeof vm?.cpus === 'number' ? vm.cpus : undefined;
  if (cpus !== undefined && cpus > Math.ceil(policy.cpus) && !allowed.includes('cpus')) {
    out.push({ path: [...at, 'cpus'], message: `${cpus} guest CPUs are more than the policy's ${policy.cpus}; add "cpus" to policy.loosen to allow it` });
  }
  return out;
}

function safeSize(v: string | number): number | undefined {
  try {
    return parseSize(v);
  } catch {
    return undefined;
  }
}

