import { defineCommand, ROOT_FLAG_HELP } from '../command.js';

export const KEYGEN_OPTIONS = { out: { type: 'string' }, 'if-missing': { type: 'boolean', default: false }, force: { type: 'boolean', default: false } } as const;

export const keygenCommand = defineCommand({
  name: 'keygen',
  summary: 'make an Ed25519 signing key (private key outside the repo, public key in locks/keys/)',
  usage: `usage: airlock keygen [--out PATH] [--if-missing] [--force] [--root DIR] [--json]

Writes a new Ed25519 private key (PKCS#8 PEM, mode 0600) to PATH (default:
AIRLOCK_SIGNING_KEY, else ~/.config/airlock/signing.key) and its public key
(SPKI PEM, which OpenSSL reads) to locks/keys/<keyid>.pub.pem. The private key
is never printed. A public key file already holding the same bytes is left alone.
\`--if-missing\` is how a project that already trusts other keys starts trusting yours
(run, smoke, matrix and repro add a key by themselves only to a project trusting none).

  --if-missing     keep an existing key (and make sure its public key is in locks/keys/)
  --force          replace an existing private key
${ROOT_FLAG_HELP}`,
  options: KEYGEN_OPTIONS,
  load: async () => (await import('../commands/keygen.js')).keygen,
});
