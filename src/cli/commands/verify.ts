import { dirname, join, resolve } from 'node:path';
import { loadTrustedKeyFile, loadTrustedKeys, type PublicKey } from '../../proof/keys.js';
import { workspacePaths } from '../../run/workspace-paths.js';
import { verifyBundle } from '../../verify/index.js';
import { AirlockError } from '../../errors.js';
import type { Body } from '../command.js';
import type { KEY_CAS_OPTIONS } from '../usage/verify.js';

export async function trustedKeysFor(keyFiles: string[], locksDir: string): Promise<PublicKey[]> {
  if (keyFiles.length > 0) return Promise.all(keyFiles.map(loadTrustedKeyFile));
  return loadTrustedKeys(locksDir);
}

/** A bundle at proofs/<id> finds its blobs in the sibling artifacts/ unless told otherwise. */
export function defaultBlobDirs(bundleDir: string, root: string): string[] {
  return [...new Set([join(dirname(dirname(resolve(bundleDir))), 'artifacts'), workspacePaths(root).artifactsDir])];
}

export const verify: Body<typeof KEY_CAS_OPTIONS> = async (ctx) => {
  const [bundleDir, ...extra] = ctx.positionals;
  if (!bundleDir || extra.length > 0) throw new AirlockError('USAGE', 'airlock verify takes exactly one bundle directory');
  const root = ctx.root;
  const trustedKeys = await trustedKeysFor((ctx.values.key as string[] | undefined) ?? [], workspacePaths(root).locksDir);
  const casDirs = (ctx.values.cas as string[] | undefined) ?? defaultBlobDirs(bundleDir, root);
  const report = await verifyBundle({ bundleDir, trustedKeys, blobDirs: casDirs });
  ctx.result(report, [
    ...report.checks.map((c) => `  ok  ${c.name}`),
    `verified: run ${report.runId}, signed by ${report.keyid}, ${report.subjects} subjects, ${report.blobs} blobs re-hashed`,
    'PASS',
  ]);
  return 0;
};
