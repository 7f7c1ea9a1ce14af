import type { TypedEvent } from '../proof/transcript-events.js';
import { BUNDLE_FILES } from '../proof/manifest.js';
import { verifyError } from './fail.js';

/**
 * A VM cell's guest had no network card: QEMU's recorded command line says
 * `-nic none` and adds no network device or backend, and no reboot.
 */
export function checkVm(event: TypedEvent<'vm'>): void {
  const env = event.data.env;
  const argv = event.data.qemu.argv;
  const fail = (field: string, message: string) =>
    verifyError('POLICY_NOT_ENFORCED', `environment ${env}, vm event seq ${event.seq}: ${message}`, `${env}: ${field}`, `${BUNDLE_FILES.transcript} seq ${event.seq}`, { env, field, seq: event.seq });
  const nicNone = argv.some((a, i) => a === '-nic' && argv[i + 1] === 'none');
  if (!nicNone) throw fail('qemu.argv', 'QEMU was not started with -nic none');
  const network = argv.find((a, i) => ['-netdev', '-net'].includes(a) || (a === '-nic' && argv[i + 1] !== 'none') || (argv[i - 1] === '-device' && /net|e1000|rtl8139/i.test(a)));
  if (network !== undefined) throw fail('qemu.argv', `QEMU's command line adds a network device or backend (${network})`);
  if (!argv.includes('-no-reboot')) throw fail('qemu.argv', 'QEMU was not started with -no-reboot');
}
