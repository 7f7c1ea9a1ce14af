/**
 * The zod schema of `airlock.yaml` v1, as a user writes it. It checks everything that can be
 * checked one value at a time (types, names, paths, units, regexes) and carries the
 * descriptions editors show; checks that relate values (image references, duplicate step
 * names, golden files, policy loosening) live in `check.ts`. Objects are strict: users typo keys.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { DURATION_PATTERN, SIZE_PATTERN, formatSize, parseDuration, parseSize } from '../util/units.js';
import { didYouMean, kindOf, show } from './issues.js';
import { LOOSENABLE_KEYS } from './policy.js';

export const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const USER_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/;
/** The largest uid/gid Linux accepts ((uid_t)-1 means "no change"): the engine refuses more, so the spec does. */
const MAX_ID = 4294967294;
/** Docker refuses a memory limit below 6 MiB. */
const MIN_MEMORY = 6 * 1024 ** 2;
/** More than this is a typo, not a policy (and some engines overflow on it). */
const MAX_MEMORY = 1024 ** 4;
/** The engine refuses a CPU limit below 0.01, and NanoCpus 0 (what less rounds to) means no limit at all. */
const MIN_CPUS = 0.01;
const MAX_CPUS = 1024;
/** Linux's highest possible pid_max: a larger pids limit is no limit. */
const MAX_PIDS = 4_194_304;

type Issue = z.core.$ZodRawIssue;
/**
 * A schema's own message for one issue code. zod also asks a schema for the messages of its
 * checks that have none, hence the code filter; a missing value (undefined) is left to the
 * generic "missing required key" message.
 */
const on =
  (code: Issue['code'], f: (iss: Issue) => string) =>
  (iss: Issue): string | undefined =>
    iss.code === code && iss.input !== undefined ? f(iss) : undefined;

const string = (expected = 'a string') =>
  z.string({ error: on('invalid_type', (i) => `expected ${expected}, got ${kindOf(i.input)}`) });

const name = (what: string) =>
  string(`${what} name`).regex(NAME_RE, {
    error: on(
      'invalid_format',
      (i) => `${what} name ${show(i.input)} must be lowercase letters, digits, ".", "_" or "-", starting with a letter or digit`,
    ),
  });

/** Turns a parser's RangeError into an issue on the value, so units are checked by one parser only. */
function parsed<T, R>(parse: (v: T) => R) {
  return (v: T, ctx: z.RefinementCtx): R => {
    try {
      return parse(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e), input: v });
      return z.NEVER;
    }
  };
}

// Examples go on the input side: zod drops a transform's own examples from an input-side JSON Schema.
const duration = (description: string) =>
  z
    .string({
      error: on('invalid_type', (i) =>
        typeof i.input === 'number'
          ? `expected a duration with a unit like "30s" or "5m", got the number ${i.input}`
          : `expected a duration like "30s" or "5m", got ${kindOf(i.input)}`,
      ),
    })
    .meta({ pattern: DURATION_PATTERN, examples: ['30s', '5m', '1500ms', '1h'] })
    .transform(
      parsed((s: string) => {
        const ms = parseDuration(s);
        if (ms <= 0) throw new RangeError(`a timeout must be longer than 0, got ${show(s)}`);
        return ms;
      }),
    )
    .meta({ description });

const size = (description: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .union([z.string().meta({ pattern: SIZE_PATTERN, examples: ['512m', '1g', '64k'] }), z.int().min(0)], {
      error: on('invalid_union', (i) => `expected a size like "512m", "1g", "64k" or a number of bytes, got ${kindOf(i.input)}`),
    })
    .transform(
      parsed((v: string | number) => {
        const bytes = parseSize(v);
        if (bytes < min) throw new RangeError(`must be at least ${formatSize(min)} (Docker's minimum), got ${show(v)}`);
        if (bytes > max) throw new RangeError(`must be at most ${formatSize(max)}, got ${show(v)}`);
        return bytes;
      }),
    )
    .meta({ description });

function pathProblem(p: string): string | undefined {
  if (!p.startsWith('/')) return `expected an absolute container path like "/out", got ${show(p)}`;
  const normal = posix.normalize(p);
  const clean = normal.length > 1 ? normal.replace(/\/$/, '') : normal;
  if (p.split('/').includes('..')) return `path ${show(p)} must not contain ".."`;
  if (clean !== p) return `path ${show(p)} is not normalized; write ${show(clean)}`;
  return undefined;
}

const absPath = (description: string, { root = true, example = '/out' } = {}) =>
  string('an absolute path')
    .superRefine((p, ctx) => {
      const problem = !root && p === '/' ? `"/" is not allowed here; name a directory like "/out"` : pathProblem(p);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: p });
    })
    .meta({ description, pattern: '^/', examples: [example] });

const relPath = (description: string) =>
  string('a path relative to the spec file')
    .min(1)
    .refine((p) => !p.startsWith('/'), {
      error: (i) => `expected a path relative to the spec file, got the absolute path ${show(i.input)}`,
    })
    .meta({ description });

const stringMap = (description: string, key = string('a key').min(1, { error: 'a key must not be empty' })) =>
  z
    .record(key, string('a string (quote numbers and booleans: "1.10", "true")'))
    .default({})
    .meta({ description });

const envMap = (description: string) =>
  stringMap(
    description,
    string('a variable name').regex(ENV_NAME_RE, {
      error: on('invalid_format', (i) => `environment variable name ${show(i.input)} must be letters, digits and "_", not starting with a digit`),
    }),
  );

const nonEmptyRecord = <T extends z.ZodType>(value: T, what: string) =>
  z
    .record(name(what), value, { error: on('invalid_type', (i) => `expected a mapping of ${what} names to ${what}s, got ${kindOf(i.input)}`) })
    .refine((r) => Object.keys(r).length > 0, { error: `define at least one ${what}` });

// ---------------------------------------------------------------------------------------------

export const policyLayerSchema = z
  .strictObject({
    network: z
      .literal('none', {
        error: on('invalid_value', (i) => `only "none" is supported in v1 (steps never get a network), got ${show(i.input)}`),
      })
      .optional()
      .meta({ description: 'Network of the step containers. v1 supports only "none". Default: none.' }),
    readOnlyRootfs: z
      .boolean()
      .optional()
      .meta({ description: 'Mount the root filesystem read-only. Default: true; false is a loosening.' }),
    tmpfs: z
      .array(absPath('A tmpfs mount point.', { root: false, example: '/tmp' }))
      .optional()
      .meta({
        description:
          'Writable tmpfs mounts (replaces the inherited list). Default: ["/tmp", "/out"]; a path not in the default is a loosening.',
      }),
    user: z
      .union(
        [
          string('a user')
            .regex(USER_RE, { error: on('invalid_format', (i) => `expected "user", "uid" or "uid:gid", got ${show(i.input)}`) })
            .refine((u) => u.split(':').every((part) => !/^\d+$/.test(part) || Number(part) <= MAX_ID), { error: `a uid or gid is at most ${MAX_ID}` }),
          z.int().min(0).max(MAX_ID, { error: `a uid is at most ${MAX_ID}` }),
        ],
        {
          error: on('invalid_union', (i) => `expected a user like "65534:65534", got ${kindOf(i.input)}`),
        },
      )
      .transform((u) => String(u))
      .optional()
      .meta({ description: 'User the steps run as: "user", "uid" or "uid:gid". Default: "65534:65534"; root (uid 0) is a loosening.' }),
    memory: size('Memory limit, Docker units base 1024 (512m, 1g, 64k or bytes), 6m to 1t. Default: 512m; more is a loosening.', MIN_MEMORY, MAX_MEMORY).optional(),
    pids: z
      .int()
      .min(1)
      .max(MAX_PIDS)
      .optional()
      .meta({ description: `Maximum number of processes, 1 to ${MAX_PIDS}. Default: 256; more is a loosening.` }),
    cpus: z
      .number()
      .min(MIN_CPUS, { error: (i) => `must be at least ${MIN_CPUS} (the engine's minimum; less would mean no CPU limit), got ${show(i.input)}` })
      .max(MAX_CPUS)
      .optional()
      .meta({ description: `CPU limit, may be fractional (0.5), ${MIN_CPUS} to ${MAX_CPUS}. Default: 1; more is a loosening.` }),
    timeout: duration('Default timeout of each step (300s, 5m, 1500ms, 1h). Default: 300s; longer is a loosening.').optional(),
    loosen: z
      .array(
        z.enum(LOOSENABLE_KEYS, {
          error: on('invalid_value', (i) =>
            i.input === 'network'
              ? `"network" cannot be loosened in v1`
              : `expected a policy key (${LOOSENABLE_KEYS.join(', ')}), got ${show(i.input)}`,
          ),
        }),
      )
      .optional()
      .meta({
        description:
          'Policy keys this level (and the environments below it) may set looser than the defaults. Loosened keys are recorded in the proof.',
      }),
  })
  .meta({ description: 'Sandbox policy. A spec may tighten freely; loosening must be listed in `loosen`.' });

const outputMatch = (stream: string) =>
  z
    .union(
      [
        z.strictObject({
          file: string().min(1).meta({ description: 'Golden file the output must equal, relative to the spec file.' }),
        }),
        z.strictObject({ contains: string().meta({ description: 'Text the output must contain.' }) }),
        z.strictObject({
          matches: string()
            .superRefine((re, ctx) => {
              try {
                new RegExp(re);
              } catch (e) {
                const why = e instanceof Error ? (e.message.split(': ').pop() ?? e.message) : String(e);
                ctx.addIssue({ code: 'custom', message: `${show(re)} is not a valid regular expression: ${why}`, input: re });
              }
            })
            .meta({ description: 'JavaScript regular expression the output must match.' }),
        }),
        z.strictObject({ equals: string().meta({ description: 'Text the output must equal exactly.' }) }),
      ],
      { error: on('invalid_union', (i) => matchProblem(i.input)) },
    )
    .optional()
    .meta({ description: `What ${stream} must be: exactly one of file, contains, matches, equals.` });

const MATCH_KEYS = ['file', 'contains', 'matches', 'equals'];
function matchProblem(input: unknown): string {
  const expected = 'expected exactly one of file, contains, matches or equals';
  if (kindOf(input) !== 'mapping') return `${expected}, got ${kindOf(input)}`;
  const keys = Object.keys(input as object);
  const known = keys.filter((k) => MATCH_KEYS.includes(k));
  if (known.length > 1) return `${expected}, got ${known.join(' and ')}`;
  if (keys.length === 0) return `${expected}, got an empty mapping`;
  return `${expected}, got ${keys.map((k) => show(k) + didYouMean(k, MATCH_KEYS)).join(', ')}`;
}

/** A command: an argv array, or a string run as ["/bin/sh", "-c", string]. */
const argv = (what?: string) =>
  z.union(
    [
      string().refine((s) => s.trim() !== '', { error: 'the command must not be empty' }),
      z.array(string()).min(1, { error: 'expected at least the program to run' }),
    ],
    {
      error: on('invalid_union', (i) => `expected ${what ? `${what} as ` : ''}an argv array of strings or a command string, got ${kindOf(i.input)}`),
    },
  );

export const stepSchema = z.strictObject({
  name: name('step').optional().meta({ description: 'Step name, unique in its environment. Default: step-<n>.' }),
  run: argv()
    .meta({
      description: 'The command: an argv array (run directly), or a string (run as ["/bin/sh", "-c", string]).',
      examples: [['/usr/local/bin/hello', '--greet', 'airlock'], 'make test'],
    }),
  env: envMap('Environment variables of this step, over those of the environment.'),
  timeout: duration('Timeout of this step (30s, 5m). Default: the policy timeout; longer than it is a loosening.').optional(),
  expect: z
    .strictObject({
      exit: z.int().min(0).max(255).default(0).meta({ description: 'Expected exit code. Default: 0.' }),
      stdout: outputMatch('stdout'),
      stderr: outputMatch('stderr'),
    })
    .default({ exit: 0 })
    .meta({ description: 'What the step must produce to pass.' }),
});


const serviceSchema = z
  .strictObject({
    image: string('an image').min(1).meta({ description: 'A key of `images`, or a local engine image such as airlock/busybox.' }),
    run: argv('the service command').optional().meta({ description: "The service's command (default: the image's)." }),
    env: envMap('Environment variables of the service.'),
    healthcheck: z
      .strictObject({
        test: z.array(string()).min(2).meta({ description: 'As in Docker: ["CMD", prog, args...] or ["CMD-SHELL", "command"].' }),
        interval: duration('Time between checks. Default 1s.').optional(),
        timeout: duration('Time one check may take. Default 3s.').optional(),
        retries: z.int().min(1).max(1000).default(30).meta({ description: 'Failures before unhealthy. Default 30.' }),
        startPeriod: duration('Grace period before failures count. Default 0s.').optional(),
      })
      .optional()
      .meta({ description: "The engine's health check; steps start once it reports healthy." }),
    wait: z
      .union([
        z.strictObject({ log: string().min(1).meta({ description: 'A log line (regular expression) that means ready.' }) }),
        z.strictObject({ command: z.array(string()).min(1).meta({ description: 'argv run in the service until it exits 0.' }) }),
        z.strictObject({ port: z.int().min(1).max(65535).meta({ description: 'A TCP port the service listens on when ready.' }) }),
      ])
      .optional()
      .meta({ description: 'Readiness without an engine health check: a log line, a command, or a listening port.' }),
    startupTimeout: duration('How long the service may take to become ready. Default 60s.').optional(),
    policy: policyLayerSchema.optional(),
  })
  .meta({ description: "A service container on the cell's internal network (no egress), reachable by its name." });

const scalar = z.union([z.string(), z.number(), z.boolean()], {
  error: on('invalid_union', (i) => `expected a string, number or boolean, got ${kindOf(i.input)}`),
});

export const matrixSchema = z
  .strictObject({
    environment: name('environment').meta({ description: 'The environment run once per cell.' }),
    axes: z
      .record(string('an axis name').regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, { error: 'an axis name is letters, digits, "_" or "-"' }), z.array(scalar).min(1, { error: 'an axis needs at least one value' }))
      .refine((a) => Object.keys(a).length > 0, { error: 'define at least one axis' })
      .meta({ description: 'Axis name → values; cells are their cartesian product (first axis varies slowest).' }),
    include: z.array(z.record(string(), scalar)).default([]).meta({ description: "As GitHub Actions' strategy.matrix.include: extends matching cells or adds new ones." }),
    exclude: z.array(z.record(string(), scalar)).default([]).meta({ description: 'Cells matching every key of an entry are removed (before include).' }),
    maxParallel: z.int().min(1).max(64).optional().meta({ description: 'Cells run at once. Default: the number of CPUs.' }),
    failFast: z.boolean().default(false).meta({ description: 'A failing cell cancels queued cells and stops running ones.' }),
    cellTimeout: duration('Wall-clock limit of one cell. Default: none beyond the step timeouts.').optional(),
  })
  .meta({ description: 'Run one environment once per combination of axis values; `${{ matrix.<axis> }}` works in build args, env and steps.' });

const vmSchema = z
  .strictObject({
    memory: size('Guest memory (512m, 1g). Default: the policy memory.', 64 * 1024 ** 2).optional(),
    cpus: z.int().min(1).max(64).optional().meta({ description: 'Guest CPUs. Default: the policy cpus, rounded up.' }),
    kernel: z.literal('debian-cloud').default('debian-cloud').meta({ description: "Guest kernel: Debian's linux-image-cloud-amd64, pinned in locks/vm-kernel.lock.json." }),
    accel: z.enum(['auto', 'kvm', 'tcg']).default('auto').meta({ description: 'auto probes KVM with a short bounded test and falls back to TCG.' }),
    timeout: duration('Hard wall-clock limit of the whole guest. Default: the sum of step timeouts plus 60s.').optional(),
  })
  .meta({ description: 'QEMU guest settings, for isolation: vm.' });

const environmentSchema = z.strictObject({
  image: string('an image name').min(1).meta({ description: 'The image (a key of `images`) the steps run in.' }),
  env: envMap('Environment variables of every step.'),
  workdir: absPath('Working directory of the steps (absolute container path).', { example: '/src' }).optional(),
  steps: z
    .array(stepSchema, { error: on('invalid_type', (i) => `expected an array of steps, got ${kindOf(i.input)}`) })
    .min(1, { error: 'define at least one step' })
    .meta({ description: 'Commands run in order in the environment\'s sealed cell; the first failing step skips the rest.' }),
  outputs: z
    .array(absPath('A container path to copy out.', { root: false }))
    .default([])
    .meta({ description: 'Absolute container paths copied out after the steps.' }),
  policy: policyLayerSchema.optional(),
  services: z
    .record(
      string('a service name').regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, {
        error: on('invalid_format', (i) => `service name ${show(i.input)} must be a DNS label: lowercase letters, digits and "-"`),
      }),
      serviceSchema,
    )
    .default({})
    .meta({ description: "Service containers started healthy on the cell's internal network before the steps." }),
  isolation: z
    .enum(['container', 'gvisor', 'vm'], {
      error: on('invalid_value', (i) => `expected container, gvisor or vm, got ${show(i.input)}`),
    })
    .default('container')
    .meta({
      description:
        'How the cell is isolated: a hardened container (default), the same under gVisor (runsc), or a QEMU guest with no network card.',
    }),
  vm: vmSchema.optional(),
});

const imageSchema = z.strictObject({
  dockerfile: relPath('The Dockerfile, relative to the spec file.'),
  context: relPath('The build context directory, relative to the spec file. Default: ".".').default('.'),
  target: string().min(1).optional().meta({ description: 'The stage of a multi-stage Dockerfile to build.' }),
  args: stringMap('Build arguments (ARG).'),
  labels: stringMap('Labels added to the image.'),
});

/** Debian package names (policy §5.6.1), optionally `name:arch`. */
const DEBIAN_PACKAGE_RE = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$/;

const baseSchema = z
  .strictObject({
    debian: z
      .literal('bookworm', { error: on('invalid_value', (i) => `expected bookworm (the Debian suite airlock bases are made from), got ${show(i.input)}`) })
      .meta({ description: 'The Debian suite the base is made from.' }),
    packages: z
      .array(
        string('a Debian package name').regex(DEBIAN_PACKAGE_RE, {
          error: on('invalid_format', (i) => `expected a Debian package name (lowercase letters, digits, "+", "-", "."), got ${show(i.input)}`),
        }),
      )
      .default([])
      .meta({ description: 'Packages installed beyond the minimal base (their dependencies come along); locked by .deb sha256 in locks/base-images.lock.json.' }),
  })
  .meta({
    description:
      'A Debian base image made from locked package files, usable as `FROM airlock/<spec name>/<base name>` in the Dockerfiles. `airlock base update` resolves and locks it.',
  });

export const specSchema = z
  .strictObject({
    version: z
      .literal(1, { error: on('invalid_value', (i) => `expected 1 (the only spec version airlock understands), got ${show(i.input)}`) })
      .meta({ description: 'Spec format version; must be 1.' }),
    name: name('spec').meta({ description: 'Name of the project: lowercase letters, digits, ".", "_" and "-".' }),
    images: nonEmptyRecord(imageSchema, 'image').meta({
      description: 'Images to build, by name; each builds one target of a (multi-stage) Dockerfile.',
      minProperties: 1,
    }),
    environments: nonEmptyRecord(environmentSchema, 'environment').meta({
      description: 'Sealed environments, by name: an image, the steps run in it, and what they must produce.',
      minProperties: 1,
    }),
    bases: z
      .record(name('base'), baseSchema)
      .default({})
      .meta({ description: 'Debian bases made for this project from locked .deb files (see `airlock base update`).' }),
    policy: policyLayerSchema.optional(),
    matrix: matrixSchema.optional(),
    inputs: z
      .array(
        z.strictObject({
          name: name('input').meta({ description: 'Unique name; the file appears in every build context at .airlock/inputs/<name>.' }),
          url: string('an http(s) URL')
            .regex(/^https?:\/\/[^\s]+$/, { error: on('invalid_format', (i) => `expected an http(s) URL, got ${show(i.input)}`) })
            .meta({ description: 'Where the input is fetched from (the only network access airlock makes).' }),
          sha256: string('64 hex digits')
            .regex(/^[0-9a-f]{64}$/, { error: on('invalid_format', (i) => `expected 64 lowercase hex digits, got ${show(i.input)}`) })
            .optional()
            .meta({ description: 'The content digest it is pinned to (else the pin in locks/inputs.lock.json; `airlock lock` writes it).' }),
        }),
      )
      .default([])
      .meta({ description: 'Inputs fetched by pinned sha256 into the CAS before any build, and placed into the build contexts.' }),
  }, { error: on('invalid_type', (i) => `expected a mapping with version, name, images and environments, got ${kindOf(i.input)}`) })
  .meta({ title: 'airlock spec', description: 'airlock.yaml: what to build, where to run it, and what it must produce.' });

/** The spec as validated by `specSchema`, before cross-references, defaults by position and policy resolution. */
export type SpecInput = z.output<typeof specSchema>;

// The normalized types live in types.ts; re-exported so either module can be imported for them.
export type * from './types.js';
