import { AirlockError } from '../../errors.js';
import { openWorkspace, workspaceRoot } from '../../run/workspace.js';
import { defineCommand } from '../command.js';

export const casCommand = defineCommand({
  name: 'cas',
  summary: 'content-addressed store: `cas verify` re-hashes every blob and names corrupt ones',
  usage: `usage: airlock cas verify [--root DIR] [--json]

Re-hashes every blob under artifacts/blobs/sha256/ (streaming) and names each
one whose content does not match its name. Exit 0 all good, 8 corruption found.`,
  options: { root: { type: 'string' } },
  allowPositionals: true,
  async body(ctx) {
    if (ctx.positionals.join(' ') !== 'verify') throw new AirlockError('USAGE', 'usage: airlock cas verify [--root DIR] [--json]');
    const workspace = await openWorkspace(workspaceRoot(ctx.values.root as string | undefined));
    try {
      const result = await workspace.cas.verifyAll({
        onProgress: (p) => {
          if (p.checked % 500 === 0 || p.checked === p.total) ctx.reporter.event({ type: 'cas-progress', ...p });
        },
      });
      if (result.corrupt.length > 0) {
        throw new AirlockError('CAS_CORRUPT', `${result.corrupt.length} of ${result.checked} blobs are corrupt:\n${result.corrupt.map((c) => `  ${c.path}: content is ${c.actualDigest ?? 'unreadable'}`).join('\n')}`, {
          details: { ...result },
        });
      }
      ctx.result(result, [`${result.checked} blobs verified, none corrupt`]);
      return 0;
    } finally {
      workspace.close();
    }
  },
});
