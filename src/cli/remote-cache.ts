import type { Reporter } from '../run/reporter.js';
import type { Workspace, WorkspaceOptions } from '../run/workspace.js';
import { remoteCacheFromEnv } from '../store/remote/config.js';

/**
 * The remote cache of the commands that run cells (run, smoke, matrix, repro): from the
 * environment (AIRLOCK_REMOTE_CACHE; a malformed value is REMOTE_CACHE_INVALID before
 * anything starts), its warnings as the reporter's `warning` events (a line for people).
 */
export function remoteCacheOptions(reporter: Reporter, env: NodeJS.ProcessEnv = process.env): WorkspaceOptions {
  return {
    remoteCache: remoteCacheFromEnv(env),
    onWarning: (w) => reporter.event({ type: 'warning', code: w.code, message: w.message }),
  };
}

/**
 * The end of such a command: waits for the uploads still running (bounded by the drain
 * time), then says what they came to. Never throws: the remote cache fails no command.
 */
export async function settleRemoteCache(workspace: Workspace, reporter: Reporter): Promise<void> {
  const summary = await workspace.settle().catch(() => undefined);
  if (summary === undefined) return;
  reporter.event({ type: 'remote-cache-uploads', ...summary });
  const lost = summary.failed + summary.dropped + summary.unfinished;
  // once the server is down, its one warning said it all
  if (lost > 0 && !summary.down) {
    const message = `${lost} uploads to the remote cache did not happen (${summary.failed} failed, ${summary.dropped} not started, ${summary.unfinished} unfinished)`;
    reporter.event({ type: 'warning', code: 'REMOTE_CACHE_ERROR', message });
  }
}
