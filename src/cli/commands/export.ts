import { relative } from 'node:path';
import { AirlockError } from '../../errors.js';
import { exportBundle } from '../../replay/export.js';
import { workspacePaths, workspaceRoot } from '../../run/workspace.js';
import { verifyBundle } from '../../verify/index.js';
import { defineCommand } from '../command.js';
import { defaultBlobDirs, trustedKeysFor } from './verify.js';

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'write a self-contained copy of a bundle (its files and every blob) for another machine',
  usage: `usage: airlock export <bundle-dir> <out-dir> [--key PEM]... [--cas DIR]... [--root DIR] [--json]

Verifies the bundle, then writes <out-dir> (new, or empty) with the bundle's files
and blobs/sha256/<hex> of every blob its manifest lists, each re-hashed as it is
copied; then verifies the copy from its own blobs alone. \`airlock verify\` and
\`airlock replay\` accept the copy anywhere (give them the signer's key with --key
where locks/keys/ does not hold it).

  --key PEM   trust only this public key (repeatable; default: every locks/keys/*.pub.pem)
  --cas DIR   a CAS root holding the blobs (repeatable; default: ../../artifacts next to
              the bundle, then ./artifacts)
  --root DIR  workspace whose locks/ hold the trusted keys`,
  options: { key: { type: 'string', multiple: true }, cas: { type: 'string', multiple: true }, root: { type: 'string' } },
  allowPositionals: true,
  async body(ctx) {
    const [bundleDir, outDir, ...extra] = ctx.positionals;
    if (!bundleDir || !outDir || extra.length > 0) throw new AirlockError('USAGE', 'airlock export takes a bundle directory and an output directory');
    const root = workspaceRoot(ctx.values.root as string | undefined);
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
  },
});
