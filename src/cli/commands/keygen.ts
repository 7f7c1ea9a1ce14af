import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isAirlockError } from '../../errors.js';
import { defaultKeyPath, generateSigningKey, loadSigningKey, publicKeyToPem, writeKeyPair } from '../../proof/keys.js';
import { workspacePaths, workspaceRoot } from '../../run/workspace.js';
import { defineCommand } from '../command.js';

export const keygenCommand = defineCommand({
  name: 'keygen',
  summary: 'make an Ed25519 signing key (private key outside the repo, public key in locks/keys/)',
  usage: `usage: airlock keygen [--out PATH] [--if-missing] [--force] [--root DIR] [--json]

Writes a new Ed25519 private key (PKCS#8 PEM, mode 0600) to PATH (default:
AIRLOCK_SIGNING_KEY, else ~/.config/airlock/signing.key) and its public key
(SPKI PEM, which OpenSSL reads) to locks/keys/<keyid>.pub.pem. The private key
is never printed.

  --if-missing   keep an existing key (and make sure its public key is in locks/keys/)
  --force        replace an existing private key`,
  options: { out: { type: 'string' }, 'if-missing': { type: 'boolean', default: false }, force: { type: 'boolean', default: false }, root: { type: 'string' } },
  async body(ctx) {
    const { locksDir } = workspacePaths(workspaceRoot(ctx.values.root as string | undefined));
    const privatePath = resolve((ctx.values.out as string | undefined) ?? process.env.AIRLOCK_SIGNING_KEY ?? defaultKeyPath());
    if (ctx.values['if-missing']) {
      try {
        const existing = await loadSigningKey({ ...process.env, AIRLOCK_SIGNING_KEY: privatePath });
        const publicPath = join(locksDir, 'keys', `${existing.keyid}.pub.pem`);
        await mkdir(join(locksDir, 'keys'), { recursive: true });
        await writeFile(publicPath, publicKeyToPem(existing));
        ctx.result({ keyid: existing.keyid, privatePath, publicPath, created: false }, [`key ${existing.keyid} already at ${privatePath}; public key ${publicPath}`]);
        return 0;
      } catch (e) {
        if (!isAirlockError(e, 'KEY_MISSING')) throw e;
      }
    }
    const paths = await writeKeyPair(generateSigningKey(), { privatePath, locksDir, force: ctx.values.force === true });
    ctx.result({ ...paths, created: true }, [`key ${paths.keyid}`, `private: ${paths.privatePath} (0600, keep it secret)`, `public:  ${paths.publicPath}`]);
    return 0;
  },
});
