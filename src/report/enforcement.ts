import { HARDENING_RULES, type Readback } from '../engine/hardening-rules.js';
import type { EventData, TypedEvent } from '../proof/transcript-events.js';
import { formatBytes, formatDuration } from './text.js';
import type { ReportEnforcement, ReportPolicyRow } from './types.js';

/**
 * A cell's sandbox in words, from its signed `container` or `vm` event: each setting as the
 * engine read it back (or as QEMU's recorded command line has it) next to what the policy
 * asked. Read-backs are interpreted by the hardening rule table verify uses, so the page and
 * `airlock verify` read the same field the same way. Host paths (bind sources, QEMU's
 * binary and kernel file) are left out on purpose: they are the machine's, not the cell's.
 */

type Policy = EventData<'container'>['policy'];

/** What one rule of the table makes of the read-back (the rule table is the one truth). */
function meaning(field: string, rb: Readback): unknown {
  const rule = HARDENING_RULES.find((r) => r.field === field);
  if (!rule) throw new Error(`no hardening rule for ${field}`);
  return rule.meaning(rb);
}

const yesNo = (v: unknown) => (v === true ? 'yes' : v === false ? 'no' : `not reported (${JSON.stringify(v)})`);
const limitText = (v: unknown, unit: (n: number) => string) => (v === 'unlimited' ? 'no limit' : typeof v === 'number' ? unit(v) : String(v));
const userText = (u: string) => (u === '' ? '(the image default)' : u);

function tmpfsText(m: unknown): string {
  type Tmpfs = { readOnly: boolean; noexec: boolean; nosuid: boolean; nodev: boolean; size: number | string | null; mode: string | null; addedBy?: string };
  const entries = Object.entries((m ?? {}) as Record<string, Tmpfs>);
  if (entries.length === 0) return 'none';
  return entries
    .map(([path, o]) => {
      const flags = [o.readOnly ? 'ro' : 'rw', ...(o.noexec ? ['noexec'] : []), ...(o.nosuid ? ['nosuid'] : []), ...(o.nodev ? ['nodev'] : [])];
      const size = typeof o.size === 'number' ? formatBytes(o.size) : (o.size ?? 'unsized');
      // an engine's own addition (Podman on a read-only root) is shown as such, not as the policy's
      return `${path} (${flags.join(',')}, ${size}${o.mode ? `, mode ${o.mode}` : ''}${o.addedBy ? `, added by ${o.addedBy}` : ''})`;
    })
    .join('; ');
}

export function containerEnforcement(event: TypedEvent<'container'>, services: readonly TypedEvent<'service'>[] = []): ReportEnforcement {
  const d = event.data;
  const rb: Readback = { hostConfig: d.hostConfig, user: d.user };
  const p = d.policy;
  const networkMode = meaning('NetworkMode', rb);
  const caps = meaning('CapDrop', rb);
  const added = meaning('CapAdd', rb) as string[];
  const binds = meaning('Binds', rb) as { target: string; readOnly: boolean }[];
  const ports = meaning('PortBindings', rb) as { ports: string[]; all: boolean };
  const runtime = meaning('Runtime', rb);
  const network =
    networkMode === 'none'
      ? 'none: loopback only'
      : d.network
        ? `the cell's own network, read back Internal: ${d.network.internal} (${d.network.internal ? 'no route out' : 'HAS A ROUTE OUT'})`
        : `${String(networkMode)}`;
  const rows: ReportPolicyRow[] = [
    { setting: 'network', enforced: network, policy: d.network ? "none: only the cell's internal network, to its services" : p.network, from: d.network ? 'NetworkMode, network Internal' : 'NetworkMode' },
    {
      setting: 'capabilities',
      enforced: `${caps === 'all' ? 'all dropped' : `dropped: ${(caps as string[]).join(', ') || 'none'}`}; ${added.length ? `added: ${added.join(', ')}` : 'none added'}`,
      policy: 'all dropped; none added',
      from: 'CapDrop, CapAdd',
    },
    { setting: 'privileged', enforced: yesNo(meaning('Privileged', rb)), policy: 'no', from: 'Privileged' },
    { setting: 'no-new-privileges', enforced: meaning('SecurityOpt', rb) === true ? 'on' : 'off', policy: 'on', from: 'SecurityOpt' },
    { setting: 'read-only root', enforced: yesNo(meaning('ReadonlyRootfs', rb)), policy: yesNo(p.readOnlyRootfs), from: 'ReadonlyRootfs' },
    { setting: 'user', enforced: userText(String(meaning('User', rb))), policy: userText(p.user), from: 'Config.User' },
    { setting: 'memory', enforced: limitText(meaning('Memory', rb), formatBytes), policy: formatBytes(p.memoryBytes), from: 'Memory' },
    { setting: 'pids', enforced: limitText(meaning('PidsLimit', rb), String), policy: String(p.pids), from: 'PidsLimit' },
    { setting: 'cpus', enforced: limitText(meaning('NanoCpus', rb), String), policy: String(p.cpus), from: 'NanoCpus (or CpuQuota/CpuPeriod)' },
    { setting: 'tmpfs', enforced: tmpfsText(meaning('Tmpfs', rb)), policy: p.tmpfs.length ? `${p.tmpfs.join(', ')}: rw,noexec,nosuid,nodev, sized to the memory limit` : 'none', from: 'Tmpfs' },
    {
      setting: 'mounts',
      enforced: binds.length ? binds.map((b) => `${b.target} (${b.readOnly ? 'read-only' : 'WRITABLE'})`).join('; ') : 'none',
      policy: "the airlock helper, read-only; nothing else (the host side is not shown: it is this machine's path)",
      from: 'Binds',
    },
    { setting: 'published ports', enforced: ports.all ? 'ALL' : ports.ports.length ? ports.ports.join(', ') : 'none', policy: 'none', from: 'PortBindings, PublishAllPorts' },
    { setting: 'runtime', enforced: runtime === null ? "the engine's default" : String(runtime), policy: d.isolation === 'gvisor' ? 'runsc' : "the engine's default", from: 'Runtime' },
    timeoutRow(p),
  ];
  return {
    isolation: d.isolation,
    // gVisor reports its version as `runsc version …`: the name once
    runtime: d.runtime.version ? (d.runtime.version.startsWith(d.runtime.name) ? d.runtime.version : `${d.runtime.name} ${d.runtime.version}`) : d.runtime.name,
    line: event.seq + 1,
    rows,
    loosened: p.loosened,
    services: services.map((s) => ({ name: s.data.name, user: userText(s.data.user), network: s.data.networks.join(', ') || 'none', line: s.seq + 1 })),
  };
}

/** A flag's value in QEMU's recorded argv (`-m 256M` → `256M`). */
function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

export function vmEnforcement(event: TypedEvent<'vm'>): ReportEnforcement {
  const d = event.data;
  const argv = d.qemu.argv;
  const nicNone = argv.some((a, i) => a === '-nic' && argv[i + 1] === 'none');
  const p = d.policy;
  const rows: ReportPolicyRow[] = [
    { setting: 'network', enforced: nicNone ? 'no network card' : 'NOT -nic none', policy: 'none', from: 'QEMU -nic' },
    { setting: 'memory', enforced: flag(argv, '-m') ?? 'not given', policy: "the spec's vm.memory", from: 'QEMU -m' },
    { setting: 'cpus', enforced: flag(argv, '-smp') ?? 'not given', policy: "the spec's vm.cpus", from: 'QEMU -smp' },
    { setting: 'reboot', enforced: argv.includes('-no-reboot') ? 'none (the guest ends with its first shutdown)' : 'ALLOWED', policy: 'none', from: 'QEMU -no-reboot' },
    { setting: 'acceleration', enforced: d.accel.used === 'kvm' ? 'kvm' : 'tcg (emulation)', policy: 'kvm when usable', from: 'QEMU -accel' },
    { setting: 'kernel', enforced: `${d.kernel.release} (${d.kernel.sha256})`, policy: 'the locked kernel (locks/vm-kernel.lock.json)', from: 'vm event kernel' },
    { setting: 'user', enforced: userText(p.user), policy: userText(p.user), from: "the guest's init (not read back)" },
    timeoutRow(p),
  ];
  return {
    isolation: 'vm',
    runtime: `qemu ${d.qemu.version}`,
    line: event.seq + 1,
    rows,
    loosened: p.loosened,
    services: [],
  };
}

function timeoutRow(p: Policy): ReportPolicyRow {
  return { setting: 'step timeout', enforced: "airlock's watcher ends the step's processes", policy: `${formatDuration(p.timeoutMs)} (unless a step sets its own)`, from: 'airlock (not an engine setting)' };
}
