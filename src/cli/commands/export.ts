import { relative } from 'node:path';
import { AirlockError } from '../../errors.js';
import { exportBundle } from '../../replay/export.js';
import { workspacePaths } from '../../run/workspace-paths.js';
import { verifyBundle } from '../../verify/index.js';
import type { Body } from '../command.js';
import type { KEY_CAS_OPTIONS } from '../usage/verify.js';
import { defaultBlobDirs, trustedKeysFor } from './verify.js';

export const exportBody: Body<typeof KEY_CAS_OPTIONS> = async (ctx) => {
  const [bundleDir, outDir, ...extra] = ctx.positionals;
  if (!bundleDir || !outDir || extra.length > 0) throw new AirlockError('USAGE', 'airlock export takes a bundle directory and an output directory');
  const root = ctx.root;
  const trustedKeys = await trustedKeysFor((ctx.values.key as string[] | undefined) ?? [], workspacePaths(root).locksDir);
  const blobDirs = (ctx.values.cas as string[] | undefined) ?? defaultBlobDirs(bundleDir, root);
  const source = await verifyBundle({ bundleDir, trustedKeys, blobDirs });
  const exported = await exportBundle({ bundleDir, outDir, blobDirs });
  // the copy must stand on its own: verify it from its blobs/ alone
  const copy = await verifyBundle({ bundleDir: exported.outDir, trustedKeys, blobDirs: [] });
  ctx.result({ runId: source.runId, keyid: copy.keyid, ...exported, verified: true }, [
    `exported run ${source.runId}: ${exported.files.length} files, ${exported.blobs} blobs (${exported.bytes} bytes)`,
    `to ${relative(process.cwd(), exported.outDir) || exported.outDir}, verified from its own blobs (signed by ${copy.keyid})`,
  ]);
  return 0;
};
