import { relative } from 'node:path';
import { connectEngine } from '../../engine/client.js';
import { AirlockError, EXIT } from '../../errors.js';
import { loadSigningKey } from '../../proof/keys.js';
import { replayBundle } from '../../replay/replay.js';
import { openWorkspace } from '../../run/workspace.js';
import type { Body } from '../command.js';
import type { REPLAY_OPTIONS } from '../usage/replay.js';
import { withInterrupts } from '../interrupts.js';
import { defaultBlobDirs, trustedKeysFor } from './verify.js';

export const replay: Body<typeof REPLAY_OPTIONS> = async (ctx) => {
  const [bundleDir, ...extra] = ctx.positionals;
  if (!bundleDir || extra.length > 0) throw new AirlockError('USAGE', 'airlock replay takes exactly one bundle directory');
  const root = ctx.root;
  const workspace = await openWorkspace(root);
  try {
    const trustedKeys = await trustedKeysFor((ctx.values.key as string[] | undefined) ?? [], workspace.locksDir);
    const blobDirs = (ctx.values.cas as string[] | undefined) ?? defaultBlobDirs(bundleDir, root);
    const key = await loadSigningKey();
    const r = await withInterrupts((signal) =>
      replayBundle({
        bundleDir,
        trustedKeys,
        blobDirs,
        workspace,
        engine: connectEngine(),
        key,
        reporter: ctx.reporter,
        signal,
        cache: ctx.values.cache === true,
        keep: ctx.values.keep === true,
      }),
    );
    ctx.result(
      {
        verdict: r.verdict,
        exitCode: r.exitCode,
        ...(r.verdict === 'differs' ? { code: 'NOT_REPRODUCIBLE' } : {}),
        original: r.original,
        replay: r.replay,
        workspaceRoot: r.workspaceRoot,
        kept: r.kept,
        environments: r.environments,
        bases: r.bases,
        inputs: r.inputs,
        reconstruction: r.reconstruction,
        entries: r.entries,
        timings: r.timings,
      },
      [r.report.replace(/\n$/, ''), '', `replay bundle: ${relative(process.cwd(), r.replay.bundleDir) || r.replay.bundleDir}`, r.verdict === 'reproduced' ? 'REPRODUCED' : 'DIFFERS [NOT_REPRODUCIBLE]'],
    );
    return r.exitCode === 0 ? EXIT.OK : EXIT.FAILED;
  } finally {
    workspace.close();
  }
};
