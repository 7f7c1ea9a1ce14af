import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BUNDLE_FILES } from '../../proof/manifest.js';
import { loadTrustedKeyFile, loadTrustedKeys, type PublicKey } from '../../proof/keys.js';
import { workspacePaths } from '../../run/workspace-paths.js';
import { type EnvelopeFile, verifyBundle } from '../../verify/index.js';
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

const ENVELOPE_FILES: readonly string[] = [BUNDLE_FILES.envelope, BUNDLE_FILES.sigstore];

/**
 * `verify proofs/<id>` or `verify proofs/<id>/envelope.sigstore.json`: naming one of the two
 * envelope files verifies the bundle around it through that file.
 */
async function bundleTarget(path: string): Promise<{ bundleDir: string; envelopeFile?: EnvelopeFile }> {
  const isFile = await stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile) return { bundleDir: path };
  const name = basename(path);
  if (!ENVELOPE_FILES.includes(name)) {
    throw new AirlockError('USAGE', `${path} is a file: give the bundle directory, or its ${ENVELOPE_FILES.join(' or ')}`);
  }
  return { bundleDir: dirname(path), envelopeFile: name as EnvelopeFile };
}

export const verify: Body<typeof KEY_CAS_OPTIONS> = async (ctx) => {
  const [target, ...extra] = ctx.positionals;
  if (!target || extra.length > 0) throw new AirlockError('USAGE', 'airlock verify takes exactly one bundle directory');
  const { bundleDir, envelopeFile } = await bundleTarget(target);
  const root = ctx.root;
  const trustedKeys = await trustedKeysFor((ctx.values.key as string[] | undefined) ?? [], workspacePaths(root).locksDir);
  const casDirs = (ctx.values.cas as string[] | undefined) ?? defaultBlobDirs(bundleDir, root);
  const report = await verifyBundle({ bundleDir, trustedKeys, blobDirs: casDirs, envelopeFile });
  ctx.result(report, [
    ...report.checks.map((c) => `  ok  ${c.name}`),
    `verified: run ${report.runId}, signed by ${report.keyid}, ${report.subjects} subjects, ${report.blobs} blobs re-hashed`,
    'PASS',
  ]);
  return 0;
};
