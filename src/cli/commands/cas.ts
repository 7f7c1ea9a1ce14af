import { AirlockError } from '../../errors.js';
import { openWorkspace } from '../../run/workspace.js';
import type { Body } from '../command.js';

export const cas: Body<Record<never, never>> = async (ctx) => {
  if (ctx.positionals.join(' ') !== 'verify') throw new AirlockError('USAGE', 'usage: airlock cas verify [--root DIR] [--json]');
  const workspace = await openWorkspace(ctx.root);
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
};
