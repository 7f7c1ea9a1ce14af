import { resolve } from 'node:path';
import { isAirlockError } from '../../errors.js';
import { defaultKeyPath, generateSigningKey, loadSigningKey, writeKeyPair, writePublicKey } from '../../proof/keys.js';
import { workspacePaths } from '../../run/workspace-paths.js';
import type { Body } from '../command.js';
import type { KEYGEN_OPTIONS } from '../usage/keygen.js';

export const keygen: Body<typeof KEYGEN_OPTIONS> = async (ctx) => {
  const { locksDir } = workspacePaths(ctx.root);
  const privatePath = resolve((ctx.values.out as string | undefined) ?? process.env.AIRLOCK_SIGNING_KEY ?? defaultKeyPath());
  if (ctx.values['if-missing']) {
    try {
      const existing = await loadSigningKey({ ...process.env, AIRLOCK_SIGNING_KEY: privatePath });
      // this is also how a project starts trusting a key once it trusts others: on purpose, never by itself
      const { path: publicPath, written } = await writePublicKey(existing, locksDir);
      ctx.result({ keyid: existing.keyid, privatePath, publicPath, created: false, publicWritten: written }, [
        `key ${existing.keyid} already at ${privatePath}; public key ${publicPath}${written ? ' (written: this project now trusts it)' : ' (already there)'}`,
      ]);
      return 0;
    } catch (e) {
      if (!isAirlockError(e, 'KEY_MISSING')) throw e;
    }
  }
  const paths = await writeKeyPair(generateSigningKey(), { privatePath, locksDir, force: ctx.values.force === true });
  ctx.result({ ...paths, created: true }, [`key ${paths.keyid}`, `private: ${paths.privatePath} (0600, keep it secret)`, `public:  ${paths.publicPath}`]);
  return 0;
};
