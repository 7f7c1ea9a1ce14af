import { defineCommand, ROOT_FLAG_HELP } from '../command.js';

export const explainCommand = defineCommand({
  name: 'explain',
  summary: 'why a cell ran instead of hitting the cache: each key component that changed, old vs new',
  usage: `usage: airlock explain <cell> [--root DIR] [--json]

<cell> is a cell id (smoke, test[cc=gcc,opt=-O2]) or axis values (cc=gcc,opt=-O2).
Looks up the most recent run of that cell in the ledger and says whether it was
served from the cache (and from which signed run) or why it ran: no cached
result yet, --no-cache, missing blobs, or which key components changed (build
args, argv, env, policy, image rootfs, …), each with its old and new value.

${ROOT_FLAG_HELP}`,
  options: {},
  allowPositionals: true,
  load: async () => (await import('../commands/explain.js')).explain,
});
