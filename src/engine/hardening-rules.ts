import { isDeepStrictEqual } from 'node:util';

/**
 * The hardening of a sealed container, as one table: for each rule, the HostConfig
 * (or Config) fields a request sets, and the meaning of a read-back, so that cells and
 * services are created and refused by it and verify checks recorded read-backs by it.
 * Read-backs are compared by meaning, not spelling: an engine that lists every
 * capability instead of `ALL`, reports `CpuQuota/CpuPeriod` instead of `NanoCpus`,
 * orders tmpfs options differently or spells bind options out says the same thing.
 * Podman's Docker-compatible API (4.x) reads back what the OCI spec it generated holds,
 * in its own terms: the capabilities missing from the default set (not `ALL`), `Runtime`
 * `oci` for every container, bind and tmpfs options spelled out (`rprivate`, `rbind`,
 * `tmpcopyup`), and, with a read-only root, the tmpfs mounts it adds itself; each is
 * read below for what it means (see PODMAN_READ_ONLY_TMPFS for what that addition is).
 * Pure: no engine access, so verify can load it.
 */

/** What a cell or service asks the engine for, in airlock's terms. */
export interface HardeningRequest {
  /** "none", or the name of the cell's internal (no-egress) network */
  network: string;
  readOnlyRootfs: boolean;
  /** writable tmpfs mounts, each sized to the memory limit, noexec/nosuid/nodev */
  tmpfs: readonly string[];
  /** "uid[:gid]" or a name; never root */
  user: string;
  memoryBytes: number;
  pids: number;
  cpus: number;
  /** the engine runtime (runsc for gvisor); absent: the engine's default */
  runtime?: string;
  /** host path → container path, each mounted read-only */
  binds: readonly { source: string; target: string }[];
}

/** What the engine reports: the container's HostConfig and its Config.User. */
export interface Readback {
  hostConfig: Record<string, unknown>;
  user: string;
}

export interface HardeningRule {
  /** the field a mismatch is named by (Docker's name) */
  field: string;
  /** where the request puts it */
  target: 'HostConfig' | 'Config';
  /** the fields the request sets */
  request: (req: HardeningRequest) => Record<string, unknown>;
  /** the read-back's meaning */
  meaning: (rb: Readback) => unknown;
  /** the request's meaning, in the same terms; undefined: the rule asks nothing of this request */
  expected: (req: HardeningRequest) => unknown;
  /** what to quote from the read-back in a mismatch */
  actual: (rb: Readback) => unknown;
  /** whether the read-back's meaning satisfies the expected one; default: they are equal */
  satisfies?: (meaning: unknown, expected: unknown) => boolean;
}

/** Every Linux capability (5.9+); an engine may list them all instead of writing ALL. */
export const ALL_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
] as const;

/**
 * The capabilities a container starts from before CapDrop and CapAdd apply: Docker's
 * default set (moby `oci/caps`), which is also the default bounding set of the OCI
 * runtime-tools generator that Podman computes its read-back against (libpod
 * `generateInspectContainerHostConfig`: CapDrop = this set minus the container's bounding
 * set, CapAdd = the bounding set minus this set). With CapAdd empty (its own rule),
 * dropping all of these leaves no capability on either engine.
 */
export const DEFAULT_CAPABILITIES = [
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'NET_RAW', 'SETFCAP', 'SETGID',
  'SETPCAP', 'SETUID', 'SYS_CHROOT',
] as const;

/**
 * What Podman mounts by itself on a read-only root (its `--read-only-tmpfs`, which its
 * Docker-compatible API always turns on): a tmpfs at each of these paths a request did
 * not mount itself, with exactly these options. Unlike the policy's tmpfs they are not
 * `noexec` and not sized (their pages still count against the memory limit); a cell on
 * Podman can write there. They are accepted only in exactly this form, at exactly these
 * paths, and in addition to (never instead of) what the request mounted; the read-back
 * keeps them, so reports and verify show them.
 */
export const PODMAN_READ_ONLY_TMPFS = { paths: ['/run', '/tmp', '/var/tmp'], options: ['nodev', 'nosuid', 'rprivate', 'rw', 'tmpcopyup'] } as const;

const TMPFS_FLAGS = 'rw,noexec,nosuid,nodev';
const TMPFS_MODE = '1777';

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const capName = (c: string) => c.toUpperCase().replace(/^CAP_/, '');
/** A limit the engine reads back as 0, -1 or nothing means "no limit". */
const limit = (v: unknown): number | 'unlimited' => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 'unlimited');

/** `all` when nothing of the default set is left: ALL, every capability, or every default one listed (Podman). */
function capsDropped(rb: Readback): 'all' | string[] {
  const dropped = new Set(strings(rb.hostConfig.CapDrop).map(capName));
  if (dropped.has('ALL') || DEFAULT_CAPABILITIES.every((c) => dropped.has(c))) return 'all';
  return [...dropped].sort();
}

/** The last word on no-new-privileges wins, as in Docker's own parsing. */
function noNewPrivileges(rb: Readback): boolean {
  let on = false;
  for (const opt of strings(rb.hostConfig.SecurityOpt)) {
    const m = /^no-new-privileges(?:[:=](true|false))?$/.exec(opt);
    if (m) on = m[1] !== 'false';
  }
  return on;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A tmpfs option string's meaning: the security flags, size in bytes and octal mode, whatever the order or units. */
export function tmpfsMeaning(options: string): { readOnly: boolean; noexec: boolean; nosuid: boolean; nodev: boolean; size: number | string | null; mode: string | null } {
  const m = { readOnly: false, noexec: false, nosuid: false, nodev: false, size: null as number | string | null, mode: null as string | null };
  for (const raw of options.split(',')) {
    const opt = raw.trim().toLowerCase();
    if (opt === 'ro' || opt === 'rw') m.readOnly = opt === 'ro';
    else if (opt === 'noexec' || opt === 'exec') m.noexec = opt === 'noexec';
    else if (opt === 'nosuid' || opt === 'suid') m.nosuid = opt === 'nosuid';
    else if (opt === 'nodev' || opt === 'dev') m.nodev = opt === 'nodev';
    else if (opt.startsWith('size=')) {
      const s = /^(\d+)([kmg]?)b?$/.exec(opt.slice(5));
      m.size = s ? Number(s[1]) * SIZE_UNITS[s[2]!]! : opt.slice(5);
    } else if (opt.startsWith('mode=')) m.mode = /^[0-7]+$/.test(opt.slice(5)) ? Number.parseInt(opt.slice(5), 8).toString(8) : opt.slice(5);
  }
  return m;
}

const tmpfsRequest = (r: HardeningRequest) => Object.fromEntries(r.tmpfs.map((p) => [p, `${TMPFS_FLAGS},size=${r.memoryBytes},mode=${TMPFS_MODE}`]));
const bindsRequest = (r: HardeningRequest) => r.binds.map((b) => `${b.source}:${b.target}:ro`);

type TmpfsMeaning = ReturnType<typeof tmpfsMeaning> & { addedBy?: 'podman' };

/** Whether a read-back tmpfs is one Podman added on its own (see PODMAN_READ_ONLY_TMPFS). */
export function isPodmanReadOnlyTmpfs(path: string, options: string): boolean {
  const opts = options.split(',').map((o) => o.trim().toLowerCase()).sort();
  return (PODMAN_READ_ONLY_TMPFS.paths as readonly string[]).includes(path) && isDeepStrictEqual(opts, [...PODMAN_READ_ONLY_TMPFS.options]);
}

function tmpfsOf(t: unknown): Record<string, TmpfsMeaning> {
  if (t === null || typeof t !== 'object' || Array.isArray(t)) return {};
  return Object.fromEntries(
    Object.entries(t as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([path, o]) => [path, { ...tmpfsMeaning(String(o)), ...(isPodmanReadOnlyTmpfs(path, String(o)) ? { addedBy: 'podman' as const } : {}) }]),
  );
}

/** Every requested tmpfs as asked; anything more only what Podman adds on its own. */
function tmpfsSatisfies(meaning: unknown, expected: unknown): boolean {
  const got = meaning as Record<string, TmpfsMeaning>;
  const want = expected as Record<string, TmpfsMeaning>;
  return (
    Object.entries(want).every(([path, m]) => isDeepStrictEqual(got[path], m)) &&
    Object.entries(got).every(([path, m]) => Object.hasOwn(want, path) || m.addedBy === 'podman')
  );
}

const BIND_READ_ONLY = new Set(['ro', 'readonly']);

/** Binds as `source:target[:options]`; options are a set, propagation and SELinux labels do not change the meaning. */
function bindsOf(binds: unknown): { source: string; target: string; readOnly: boolean }[] {
  return strings(binds)
    .map((b) => {
      const [source = '', target = '', options = ''] = b.split(':');
      return { source, target, readOnly: options.split(',').some((o) => BIND_READ_ONLY.has(o.trim().toLowerCase())) };
    })
    .sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

/** NanoCpus, else CpuQuota/CpuPeriod: the same limit in the engine's other spelling. */
function cpusOf(rb: Readback): number | 'unlimited' {
  const h = rb.hostConfig;
  const nano = limit(h.NanoCpus);
  if (nano !== 'unlimited') return Math.round(nano) / 1e9;
  const quota = limit(h.CpuQuota);
  const period = limit(h.CpuPeriod);
  return quota !== 'unlimited' && period !== 'unlimited' ? Math.round((quota / period) * 1e9) / 1e9 : 'unlimited';
}

/** root by name or uid 0, or "" (the image's default, which may be root) */
export function isRootUser(user: string): boolean {
  const uid = user.split(':')[0]!.trim();
  return uid === '' || uid === 'root' || /^0+$/.test(uid);
}

export const HARDENING_RULES: readonly HardeningRule[] = [
  { field: 'NetworkMode', target: 'HostConfig', request: (r) => ({ NetworkMode: r.network }), meaning: (rb) => rb.hostConfig.NetworkMode ?? null, expected: (r) => r.network, actual: (rb) => rb.hostConfig.NetworkMode },
  { field: 'CapDrop', target: 'HostConfig', request: () => ({ CapDrop: ['ALL'] }), meaning: capsDropped, expected: () => 'all', actual: (rb) => rb.hostConfig.CapDrop },
  { field: 'CapAdd', target: 'HostConfig', request: () => ({ CapAdd: [] }), meaning: (rb) => strings(rb.hostConfig.CapAdd).map(capName).sort(), expected: () => [], actual: (rb) => rb.hostConfig.CapAdd },
  { field: 'Privileged', target: 'HostConfig', request: () => ({ Privileged: false }), meaning: (rb) => rb.hostConfig.Privileged ?? null, expected: () => false, actual: (rb) => rb.hostConfig.Privileged },
  { field: 'SecurityOpt', target: 'HostConfig', request: () => ({ SecurityOpt: ['no-new-privileges'] }), meaning: noNewPrivileges, expected: () => true, actual: (rb) => rb.hostConfig.SecurityOpt },
  { field: 'ReadonlyRootfs', target: 'HostConfig', request: (r) => ({ ReadonlyRootfs: r.readOnlyRootfs }), meaning: (rb) => rb.hostConfig.ReadonlyRootfs === true, expected: (r) => r.readOnlyRootfs, actual: (rb) => rb.hostConfig.ReadonlyRootfs },
  {
    field: 'Tmpfs',
    target: 'HostConfig',
    request: (r) => ({ Tmpfs: tmpfsRequest(r) }),
    meaning: (rb) => tmpfsOf(rb.hostConfig.Tmpfs),
    expected: (r) => tmpfsOf(tmpfsRequest(r)),
    actual: (rb) => rb.hostConfig.Tmpfs,
    satisfies: tmpfsSatisfies,
  },
  { field: 'Binds', target: 'HostConfig', request: (r) => ({ Binds: bindsRequest(r) }), meaning: (rb) => bindsOf(rb.hostConfig.Binds), expected: (r) => bindsOf(bindsRequest(r)), actual: (rb) => rb.hostConfig.Binds },
  // Docker reads Config.User back as written; root is only ever asked for by a loosened policy
  { field: 'User', target: 'Config', request: (r) => ({ User: r.user }), meaning: (rb) => rb.user, expected: (r) => r.user, actual: (rb) => rb.user },
  { field: 'Memory', target: 'HostConfig', request: (r) => ({ Memory: r.memoryBytes, MemorySwap: r.memoryBytes }), meaning: (rb) => limit(rb.hostConfig.Memory), expected: (r) => r.memoryBytes, actual: (rb) => rb.hostConfig.Memory },
  { field: 'PidsLimit', target: 'HostConfig', request: (r) => ({ PidsLimit: r.pids }), meaning: (rb) => limit(rb.hostConfig.PidsLimit), expected: (r) => r.pids, actual: (rb) => rb.hostConfig.PidsLimit },
  { field: 'NanoCpus', target: 'HostConfig', request: (r) => ({ NanoCpus: Math.round(r.cpus * 1e9) }), meaning: cpusOf, expected: (r) => Math.round(r.cpus * 1e9) / 1e9, actual: (rb) => rb.hostConfig.NanoCpus ?? rb.hostConfig.CpuQuota },
  {
    field: 'PortBindings',
    target: 'HostConfig',
    request: () => ({ PortBindings: {}, PublishAllPorts: false }),
    meaning: (rb) => ({ ports: Object.keys((rb.hostConfig.PortBindings as object | null) ?? {}).sort(), all: rb.hostConfig.PublishAllPorts === true }),
    expected: () => ({ ports: [], all: false }),
    actual: (rb) => ({ PortBindings: rb.hostConfig.PortBindings ?? null, PublishAllPorts: rb.hostConfig.PublishAllPorts ?? null }),
  },
  // Podman reads back `oci` for every container: it names no runtime, so it is the engine's
  // default, never one a request asked for (its compatible API ignores HostConfig.Runtime)
  { field: 'Runtime', target: 'HostConfig', request: (r) => (r.runtime ? { Runtime: r.runtime } : {}), meaning: (rb) => (rb.hostConfig.Runtime === 'oci' ? null : (rb.hostConfig.Runtime ?? null)), expected: (r) => r.runtime, actual: (rb) => rb.hostConfig.Runtime },
];

/** The request as create options: HostConfig fields, and Config fields (User). */
export function hardenedFields(req: HardeningRequest): { hostConfig: Record<string, unknown>; config: Record<string, unknown> } {
  const out = { hostConfig: {} as Record<string, unknown>, config: {} as Record<string, unknown> };
  for (const rule of HARDENING_RULES) Object.assign(rule.target === 'HostConfig' ? out.hostConfig : out.config, rule.request(req));
  return out;
}

export interface Mismatch {
  field: string;
  expected: unknown;
  actual: unknown;
  message: string;
}

/** Every rule the read-back breaks, in table order. */
export function hardeningMismatches(req: HardeningRequest, rb: Readback): Mismatch[] {
  const out: Mismatch[] = [];
  for (const rule of HARDENING_RULES) {
    const expected = rule.expected(req);
    if (expected === undefined || (rule.satisfies ?? isDeepStrictEqual)(rule.meaning(rb), expected)) continue;
    const actual = rule.actual(rb) ?? null;
    out.push({ field: rule.field, expected, actual, message: `${rule.field}: expected ${JSON.stringify(expected)}, engine reports ${JSON.stringify(actual)}` });
  }
  return out;
}
