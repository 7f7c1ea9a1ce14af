import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { loadTrustedKeys, publicKeyFromPem, type PublicKey } from '../../proof/keys.js';
import { workspacePaths, workspaceRoot } from '../../run/workspace.js';
import { verifyBundle } from '../../verify/index.js';
import { AirlockError } from '../../errors.js';
import { defineCommand } from '../command.js';

export async function trustedKeysFor(keyFiles: string[], locksDir: string): Promise<PublicKey[]> {
  if (keyFiles.length > 0) return Promise.all(keyFiles.map(async (f) => publicKeyFromPem(await readFile(f, 'utf8'), f)));
  return loadTrustedKeys(locksDir);
}

/** A bundle at proofs/<id> finds its blobs in the sibling artifacts/ unless told otherwise. */
export function defaultBlobDirs(bundleDir: string, root: string): string[] {
  return [...new Set([join(dirname(dirname(resolve(bundleDir))), 'artifacts'), workspacePaths(root).artifactsDir])];
}

export const verifyCommand = defineCommand({
  name: 'verify',
  summary: 'verify a proof bundle offline: signature, statement, transcript chain, blobs, policy',
  usage: `usage: airlock verify <bundle-dir> [--key PEM]... [--cas DIR]... [--json]

Checks, in order, stopping at the first failure with its code: envelope shape,
signature over DSSE PAE against a trusted key, statement and predicate types,
the transcript's hash chain, every subject and manifest blob re-hashed, and the
recorded policy (network none, capabilities dropped, read-only root) in force.
Never touches the network or the engine. Exit 0 verified, 7 not verified.

  --key PEM   trust only this public key (repeatable; default: every locks/keys/*.pub.pem)
  --cas DIR   a CAS root holding blobs/sha256/ (repeatable; default: the bundle's
              own blobs/, then ../../artifacts next to the bundle, then ./artifacts)
  --root DIR  workspace whose locks/ hold the trusted keys`,
  options: { key: { type: 'string', multiple: true }, cas: { type: 'string', multiple: true }, root: { type: 'string' } },
  allowPositionals: true,
  async body(ctx) {
    const [bundleDir, ...extra] = ctx.positionals;
    if (!bundleDir || extra.length > 0) throw new AirlockError('USAGE', 'airlock verify takes exactly one bundle directory');
    const root = workspaceRoot(ctx.values.root as string | undefined);
    const trustedKeys = await trustedKeysFor((ctx.values.key as string[] | undefined) ?? [], workspacePaths(root).locksDir);
    const casDirs = (ctx.values.cas as string[] | undefined) ?? defaultBlobDirs(bundleDir, root);
    const report = await verifyBundle({ bundleDir, trustedKeys, blobDirs: casDirs });
    ctx.result(report, [
      ...report.checks.map((c) => `  ok  ${c.name}`),
      `verified: run ${report.runId}, signed by ${report.keyid}, ${report.subjects} subjects, ${report.blobs} blobs re-hashed`,
      'PASS',
    ]);
    return 0;
  },
});
