import type { Statement } from '../proof/statement.js';
import type { TranscriptEvent } from '../proof/transcript.js';
import { BUNDLE_FILES } from '../proof/manifest.js';
import { verifyError } from './fail.js';

/** What a `container` event carries: the HostConfig as the engine read it back. */
interface ContainerEventData {
  env?: unknown;
  containerId?: unknown;
  hostConfig?: Record<string, unknown> | null;
  policy?: { loosened?: unknown };
  isolation?: unknown;
  /** the internal (no-egress) network of the cell's services, as read back */
  network?: { name?: unknown; internal?: unknown };
}

interface Rule {
  field: string;
  expected: string;
  holds: (hostConfig: Record<string, unknown>, data: ContainerEventData) => boolean;
  /** the policy relaxation that lifts this rule, if any */
  loosenedBy?: string;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

const NO_NEW_PRIVILEGES = new Set(['no-new-privileges', 'no-new-privileges:true', 'no-new-privileges=true']);

/** The hardening every cell must have had, in Docker's HostConfig field names. */
const RULES: readonly Rule[] = [
  {
    field: 'NetworkMode',
    expected: '"none", or the cell\'s internal services network',
    holds: (h, data) => h.NetworkMode === 'none' || (data.network?.internal === true && h.NetworkMode === data.network.name),
  },
  {
    field: 'CapDrop',
    expected: 'to contain "ALL"',
    holds: (h) => strings(h.CapDrop).some((c) => c.toUpperCase() === 'ALL'),
  },
  {
    field: 'CapAdd',
    expected: 'empty',
    holds: (h) => h.CapAdd == null || (Array.isArray(h.CapAdd) && h.CapAdd.length === 0),
  },
  {
    field: 'Privileged',
    expected: 'false',
    holds: (h) => h.Privileged === false,
  },
  {
    field: 'SecurityOpt',
    expected: 'to contain "no-new-privileges"',
    holds: (h) => strings(h.SecurityOpt).some((o) => NO_NEW_PRIVILEGES.has(o)),
  },
  {
    field: 'ReadonlyRootfs',
    expected: 'true',
    holds: (h) => h.ReadonlyRootfs === true,
    loosenedBy: 'readOnlyRootfs',
  },
  // The engine reads "no limit" back as 0, -1 or nothing: a cell must have had each limit.
  {
    field: 'Memory',
    expected: 'a memory limit (more than 0 bytes)',
    holds: (h) => positive(h.Memory),
  },
  {
    field: 'PidsLimit',
    expected: 'a process limit (more than 0)',
    holds: (h) => positive(h.PidsLimit),
  },
  {
    field: 'NanoCpus',
    expected: 'a CPU limit (more than 0)',
    holds: (h) => positive(h.NanoCpus),
  },
];

function positive(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

/**
 * Every cell ran hardened, judged by what the engine reported (the `container`
 * events), not by what was requested. A relaxation only counts when the signed
 * statement's policy for that environment allows it too; a matrix cell (`t[n=1]`)
 * answers to the policy of its environment (`t`), named by its signed `cell` event,
 * and a cell whose environment has no signed policy is refused.
 */
export function checkPolicy(events: readonly TranscriptEvent[], statement: Statement): number {
  const external = statement.predicate.buildDefinition.externalParameters;
  const containers = events.filter((e) => e.phase === 'container');
  // Every cell that ran (not replayed from the cache, not skipped) must show the sandbox it ran in.
  const sandboxed = new Set(events.filter((e) => e.phase === 'container' || e.phase === 'vm').map((e) => e.data.env));
  const ran = events.filter((e) => e.phase === 'cell' && (e.data.status === 'passed' || e.data.status === 'failed'));
  const cells = events.filter((e) => e.phase === 'cell');
  for (const e of ran) {
    if (!sandboxed.has(e.data.cell)) {
      throw verifyError('POLICY_NOT_ENFORCED', `cell ${String(e.data.cell)} ran but the transcript has no container or vm event for it`, 'container events', BUNDLE_FILES.transcript, {
        env: String(e.data.cell),
        field: 'container',
      });
    }
  }
  if (cells.length === 0 && external.environments.length > 0 && sandboxed.size === 0) {
    throw verifyError(
      'POLICY_NOT_ENFORCED',
      `the statement lists environments ${external.environments.join(', ')} but the transcript has no container event`,
      'container events',
      BUNDLE_FILES.transcript,
      { env: external.environments.join(', '), field: 'container' },
    );
  }
  const envOfCell = new Map<unknown, unknown>(cells.filter((e) => e.data.state === 'started').map((e) => [e.data.cell, e.data.env]));
  for (const event of containers) {
    const data = event.data as ContainerEventData;
    const env = typeof data.env === 'string' ? data.env : '(unnamed)';
    const where = `${BUNDLE_FILES.transcript} seq ${event.seq}`;
    const fail = (field: string, message: string, extra: Record<string, unknown> = {}) => {
      const full = `environment ${env}, container event seq ${event.seq}: ${message}`;
      return verifyError('POLICY_NOT_ENFORCED', full, `${env}: ${field}`, where, { env, field, seq: event.seq, ...extra });
    };
    if (typeof data.env !== 'string') throw fail('env', 'names no environment');
    const hostConfig = data.hostConfig;
    if (hostConfig === null || typeof hostConfig !== 'object' || Array.isArray(hostConfig)) {
      throw fail('hostConfig', 'records no read-back HostConfig');
    }
    const loosened = strings(data.policy?.loosened);
    const environment = Object.hasOwn(external.policy, env) ? env : envOfCell.get(env);
    const signed = typeof environment === 'string' && Object.hasOwn(external.policy, environment) ? external.policy[environment] : undefined;
    if (signed === undefined) {
      const named = typeof environment === 'string' && environment !== env ? `${env} (environment ${environment})` : env;
      throw verifyError('POLICY_MISSING', `the signed statement records no policy for ${named}, whose container event is seq ${event.seq}`, `${env}: policy`, where, {
        env,
        field: 'policy',
        seq: event.seq,
        signed: Object.keys(external.policy),
      });
    }
    const allowed = signed.loosened;
    for (const relaxation of loosened) {
      if (!allowed.includes(relaxation)) {
        const message = `loosens ${relaxation}, which the signed policy for ${env} does not`;
        throw fail('policy.loosened', message, { actual: loosened, expected: allowed });
      }
    }
    if (data.isolation === 'gvisor' && hostConfig.Runtime !== 'runsc') {
      throw fail('Runtime', `isolation is gvisor but HostConfig.Runtime is ${JSON.stringify(hostConfig.Runtime ?? null)}, expected "runsc"`, {
        actual: hostConfig.Runtime ?? null,
      });
    }
    for (const rule of RULES) {
      if (rule.loosenedBy && loosened.includes(rule.loosenedBy)) continue;
      if (!rule.holds(hostConfig, data)) {
        const actual = hostConfig[rule.field] ?? null;
        throw fail(rule.field, `HostConfig.${rule.field} is ${JSON.stringify(actual)}, expected ${rule.expected}`, { actual });
      }
    }
  }
  for (const event of events.filter((e) => e.phase === 'vm')) checkVm(event);
  return containers.length;
}

/**
 * A VM cell's guest had no network card: QEMU's recorded command line says
 * `-nic none` and adds no network device or backend, and no reboot.
 */
function checkVm(event: TranscriptEvent): void {
  const env = typeof event.data.env === 'string' ? event.data.env : '(unnamed)';
  const argv = strings((event.data.qemu as { argv?: unknown } | undefined)?.argv);
  const fail = (field: string, message: string) =>
    verifyError('POLICY_NOT_ENFORCED', `environment ${env}, vm event seq ${event.seq}: ${message}`, `${env}: ${field}`, `${BUNDLE_FILES.transcript} seq ${event.seq}`, { env, field, seq: event.seq });
  const nicNone = argv.some((a, i) => a === '-nic' && argv[i + 1] === 'none');
  if (!nicNone) throw fail('qemu.argv', 'QEMU was not started with -nic none');
  const network = argv.find((a, i) => ['-netdev', '-net'].includes(a) || (a === '-nic' && argv[i + 1] !== 'none') || (argv[i - 1] === '-device' && /net|e1000|rtl8139/i.test(a)));
  if (network !== undefined) throw fail('qemu.argv', `QEMU's command line adds a network device or backend (${network})`);
  if (!argv.includes('-no-reboot')) throw fail('qemu.argv', 'QEMU was not started with -no-reboot');
}
