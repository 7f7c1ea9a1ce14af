import { ensureBaseImages } from '../../base/ensure.js';
import { BASE_IMAGES } from '../../base/catalog.js';
import { connectEngine } from '../../engine/client.js';
import { workspacePaths, workspaceRoot } from '../../run/workspace.js';
import { defineCommand } from '../command.js';

export const baseCommand = defineCommand({
  name: 'base',
  summary: 'make the local base images and pin them in locks/base-images.lock.json',
  usage: `usage: airlock base [--frozen] [--force] [--only REF]... [--root DIR] [--json]

Makes ${BASE_IMAGES.map((b) => b.ref).join(', ')}
locally (nothing is pulled): busybox from Debian's busybox-static, Debian from
mmdebstrap. Each base's normalized rootfs digest and package versions are pinned
in locks/base-images.lock.json. Fast when the engine already holds images
matching the lock.

  --frozen   fail with a diff when a rebuilt base does not match its lock (never update it)
  --force    rebuild even when a matching image is present
  --only REF only this base (repeatable)`,
  options: { frozen: { type: 'boolean', default: false }, force: { type: 'boolean', default: false }, only: { type: 'string', multiple: true }, root: { type: 'string' } },
  async body(ctx) {
    const { locksDir } = workspacePaths(workspaceRoot(ctx.values.root as string | undefined));
    const only = ctx.values.only as string[] | undefined;
    const results = await ensureBaseImages(connectEngine(), {
      locksDir,
      frozen: ctx.values.frozen === true,
      force: ctx.values.force === true,
      ...(only ? { only } : {}),
      onProgress: (message) => ctx.reporter.event({ type: 'base-progress', message }),
    });
    for (const r of results) ctx.reporter.event({ type: 'base-ready', ...r });
    ctx.result({ bases: results }, results.flatMap((r) => [`${r.ref}: ${r.outcome} ${r.rootfsDigest} (${(r.durationMs / 1000).toFixed(1)}s)`, ...(r.diff ?? []).map((l) => `  ${l}`)]));
    return 0;
  },
});
