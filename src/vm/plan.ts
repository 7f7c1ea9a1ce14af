/**
 * What airlock-init does in the guest, as one PLAN frame payload: NUL-terminated tokens
 * (strings cannot hold NUL anyway: they become argv, env and paths), counts in decimal.
 * Kept out of the guest root so the root's digest depends on the image only.
 *
 *   airlock-plan/1  uid  gid  workdir  readonly-root(0|1)  lifetime-ms
 *   ntmpfs  path…
 *   nsteps  { name  timeout-ms  expect-exit  argc  argv…  envc  KEY=VALUE… }…
 *   noutputs  path…
 */
export const PLAN_VERSION = 'airlock-plan/1';

/** Docker's default PATH, for steps whose environment does not set one. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface GuestStep {
  name: string;
  argv: string[];
  env: Record<string, string>;
  timeoutMs: number;
  /** the exit code that lets the next step run */
  expectExit: number;
}

export interface GuestPlan {
  uid: number;
  gid: number;
  /** '' for `/` */
  workdir: string;
  readOnlyRoot: boolean;
  /** init powers the guest off after this long, whatever happens (0: never); a backstop for a host that died */
  lifetimeMs: number;
  tmpfs: string[];
  steps: GuestStep[];
  outputs: string[];
}

const USER_RE = /^(\d{1,10}):(\d{1,10})$/;

/** `"uid:gid"` → numbers; anything else (names cannot be resolved before boot) is refused. */
export function parseUser(user: string): { uid: number; gid: number } {
  const m = USER_RE.exec(user);
  const uid = Number(m?.[1]);
  const gid = Number(m?.[2]);
  if (!m || uid > 0xfffffffe || gid > 0xfffffffe) {
    throw new TypeError(`Expected \`user\` to be numeric "uid:gid" (like "65534:65534"), got \`${user}\``);
  }
  return { uid, gid };
}

/** Every problem with a plan, as `field: message` lines (empty when the plan is fine). */
export function planProblems(plan: GuestPlan): string[] {
  const problems: string[] = [];
  const str = (field: string, s: string) => {
    if (s.includes('\0')) problems.push(`${field}: contains a NUL byte`);
  };
  const abs = (field: string, p: string) => {
    str(field, p);
    if (!p.startsWith('/')) problems.push(`${field}: expected an absolute path, got ${JSON.stringify(p)}`);
    else if (p.split('/').includes('..')) problems.push(`${field}: must not contain \`..\`, got ${JSON.stringify(p)}`);
  };
  if (plan.workdir !== '') abs('workdir', plan.workdir);
  if (!Number.isSafeInteger(plan.lifetimeMs) || plan.lifetimeMs < 0 || plan.lifetimeMs > 0xffffffff) problems.push(`lifetimeMs: expected an integer >= 0, got ${plan.lifetimeMs}`);
  plan.tmpfs.forEach((p, i) => {
    abs(`tmpfs[${i}]`, p);
    if (p.replace(/\/+$/, '') === '') problems.push(`tmpfs[${i}]: cannot be /`);
  });
  plan.outputs.forEach((p, i) => abs(`outputs[${i}]`, p));
  if (plan.steps.length > 0xffff) problems.push(`steps: at most 65535, got ${plan.steps.length}`);
  if (plan.outputs.length > 0xffff) problems.push(`outputs: at most 65535, got ${plan.outputs.length}`);
  plan.steps.forEach((s, i) => {
    str(`steps[${i}].name`, s.name);
    if (s.argv.length === 0 || s.argv[0] === '') problems.push(`steps[${i}].argv: expected at least a program`);
    s.argv.forEach((a, j) => str(`steps[${i}].argv[${j}]`, a));
    if (!Number.isSafeInteger(s.timeoutMs) || s.timeoutMs <= 0 || s.timeoutMs > 0xffffffff) {
      problems.push(`steps[${i}].timeoutMs: expected an integer > 0, got ${s.timeoutMs}`);
    }
    if (!Number.isInteger(s.expectExit) || s.expectExit < 0 || s.expectExit > 255) {
      problems.push(`steps[${i}].expectExit: expected 0..255, got ${s.expectExit}`);
    }
    for (const [k, v] of Object.entries(s.env)) {
      if (k === '' || k.includes('=') || k.includes('\0')) problems.push(`steps[${i}].env: invalid name ${JSON.stringify(k)}`);
      str(`steps[${i}].env.${k}`, v);
    }
  });
  return problems;
}

export function encodePlan(plan: GuestPlan): Buffer {
  const problems = planProblems(plan);
  if (problems.length > 0) throw new TypeError(`invalid VM plan:\n  ${problems.join('\n  ')}`);
  const t: string[] = [PLAN_VERSION, String(plan.uid), String(plan.gid), plan.workdir, plan.readOnlyRoot ? '1' : '0', String(plan.lifetimeMs)];
  t.push(String(plan.tmpfs.length), ...plan.tmpfs);
  t.push(String(plan.steps.length));
  for (const s of plan.steps) {
    const env = Object.entries(s.env).map(([k, v]) => `${k}=${v}`);
    t.push(s.name, String(s.timeoutMs), String(s.expectExit), String(s.argv.length), ...s.argv, String(env.length), ...env);
  }
  t.push(String(plan.outputs.length), ...plan.outputs);
  return Buffer.from(t.map((x) => `${x}\0`).join(''), 'utf8');
}

/** The inverse of encodePlan (tests, and reading a plan back from a log). */
export function decodePlan(buf: Buffer): GuestPlan {
  const tokens = buf.toString('utf8').split('\0');
  if (tokens.pop() !== '') throw new Error('plan does not end with NUL');
  let i = 0;
  const next = (): string => {
    const t = tokens[i++];
    if (t === undefined) throw new Error('plan is truncated');
    return t;
  };
  const num = (): number => {
    const t = next();
    if (!/^\d+$/.test(t)) throw new Error(`expected a number in the plan, got ${JSON.stringify(t)}`);
    return Number(t);
  };
  const list = (n: number): string[] => Array.from({ length: n }, next);
  if (next() !== PLAN_VERSION) throw new Error(`not a ${PLAN_VERSION} plan`);
  const uid = num();
  const gid = num();
  const workdir = next();
  const readOnlyRoot = next() === '1';
  const lifetimeMs = num();
  const tmpfs = list(num());
  const steps: GuestStep[] = Array.from({ length: num() }, () => {
    const name = next();
    const timeoutMs = num();
    const expectExit = num();
    const argv = list(num());
    const env = Object.fromEntries(
      list(num()).map((kv) => {
        const eq = kv.indexOf('=');
        return [kv.slice(0, eq), kv.slice(eq + 1)];
      }),
    );
    return { name, timeoutMs, expectExit, argv, env };
  });
  const outputs = list(num());
  if (i !== tokens.length) throw new Error('plan has trailing tokens');
  return { uid, gid, workdir, readOnlyRoot, lifetimeMs, tmpfs, steps, outputs };
}
