import type { Statement } from '../proof/statement.js';
import type { TypedEvent } from '../proof/transcript-events.js';
import { BUNDLE_FILES } from '../proof/manifest.js';
import { verifyError } from './fail.js';
import { allowedNetwork, cellNetworks, checkReadback, helperMountOf, helperOf, requestOf, type Subject } from './hardening.js';
import { checkVm } from './vm.js';

const where = (seq: number) => `${BUNDLE_FILES.transcript} seq ${seq}`;

/**
 * Every cell and every service ran hardened, judged by what the engine reported (the
 * `container` and `service` events) with the rule table that created them, not by
 * what was requested. A relaxation only counts when the signed statement's policy for
 * that environment allows it too; a matrix cell (`t[n=1]`) answers to the policy of
 * its environment (`t`), named by its signed `cell` event, and a cell whose
 * environment has no signed policy is refused. Returns the number of containers checked.
 */
export function checkPolicy(events: readonly TypedEvent[], statement: Statement): number {
  const external = statement.predicate.buildDefinition.externalParameters;
  const envOfCell = new Map<string, string>();
  const sandboxed = new Set<string>();
  const ran: string[] = [];
  for (const e of events) {
    if (e.phase === 'cell' && e.data.state === 'started') envOfCell.set(e.data.cell, e.data.env);
    if (e.phase === 'cell' && e.data.state === 'finished' && (e.data.status === 'passed' || e.data.status === 'failed')) ran.push(e.data.cell);
    if (e.phase === 'container' || e.phase === 'vm') sandboxed.add(e.data.env);
  }
  // Every cell that ran (not replayed from the cache, not skipped) must show the sandbox it ran in.
  for (const cell of ran) {
    if (!sandboxed.has(cell)) {
      throw verifyError('POLICY_NOT_ENFORCED', `cell ${cell} ran but the transcript has no container or vm event for it`, 'container events', BUNDLE_FILES.transcript, { env: cell, field: 'container' });
    }
  }
  if (envOfCell.size === 0 && external.environments.length > 0 && sandboxed.size === 0) {
    const envs = external.environments.join(', ');
    throw verifyError('POLICY_NOT_ENFORCED', `the statement lists environments ${envs} but the transcript has no container event`, 'container events', BUNDLE_FILES.transcript, { env: envs, field: 'container' });
  }

  const networks = cellNetworks(events);
  const helper = helperOf(events);
  /** The signed policy's loosenings for a cell, else POLICY_MISSING. */
  const signedLoosened = (cell: string, seq: number): string[] => {
    const environment = Object.hasOwn(external.policy, cell) ? cell : envOfCell.get(cell);
    const signed = environment !== undefined && Object.hasOwn(external.policy, environment) ? external.policy[environment] : undefined;
    if (signed === undefined) {
      const named = environment !== undefined && environment !== cell ? `${cell} (environment ${environment})` : cell;
      throw verifyError('POLICY_MISSING', `the signed statement records no policy for ${named}, whose container event is seq ${seq}`, `${cell}: policy`, where(seq), {
        env: cell,
        field: 'policy',
        seq,
        signed: Object.keys(external.policy),
      });
    }
    return signed.loosened;
  };

  let checked = 0;
  for (const event of events) {
    if (event.phase === 'container') {
      const d = event.data;
      const s: Subject = { env: d.env, seq: event.seq, what: 'container event' };
      const allowed = signedLoosened(d.env, event.seq);
      for (const relaxation of d.policy.loosened) {
        if (!allowed.includes(relaxation)) {
          throw verifyError('POLICY_NOT_ENFORCED', `environment ${d.env}, container event seq ${event.seq}: loosens ${relaxation}, which the signed policy for ${d.env} does not`, `${d.env}: policy.loosened`, where(event.seq), {
            env: d.env,
            field: 'policy.loosened',
            seq: event.seq,
            actual: d.policy.loosened,
            expected: allowed,
          });
        }
      }
      const network = allowedNetwork(s, d.hostConfig.NetworkMode, networks.get(d.env));
      if (network !== 'none' && d.network?.internal !== true) allowedNetwork(s, d.hostConfig.NetworkMode, undefined);
      const mount = helperMountOf(s, helper, d.helper);
      const request = requestOf(s, d.policy, {
        network,
        ...(d.isolation === 'gvisor' ? { runtime: 'runsc' } : {}),
        ...(mount ? { helper: mount } : {}),
        ...(d.variation?.user ? { user: d.variation.user } : {}),
      });
      checkReadback(s, request, d.hostConfig, d.user);
      checked++;
    } else if (event.phase === 'service') {
      const d = event.data;
      const s: Subject = { env: d.cell, seq: event.seq, what: `service ${d.name}` };
      signedLoosened(d.cell, event.seq);
      const own = networks.get(d.cell);
      // a service is always on its cell's internal network: "none" would be as wrong as a bridge
      const network = allowedNetwork(s, d.hostConfig.NetworkMode === 'none' ? '(none)' : d.hostConfig.NetworkMode, own);
      const mount = helperMountOf(s, helper, d.helper);
      checkReadback(s, requestOf(s, d.policy, { network, ...(mount ? { helper: mount } : {}) }), d.hostConfig, d.user);
      checked++;
    } else if (event.phase === 'vm') checkVm(event);
  }
  return checked;
}
