import { defineCommand, ROOT_FLAG_HELP } from '../command.js';

export const GC_OPTIONS = { all: { type: 'boolean', default: false } } as const;

export const gcCommand = defineCommand({
  name: 'gc',
  summary: 'remove what crashed runs left: labelled containers, networks, volumes, half-written blobs',
  usage: `usage: airlock gc [--all] [--root DIR] [--json]

Removes every airlock-labelled container, network and volume whose controller
process is gone (with --all: every one), untagged images of airlock builds that
nothing uses, deletes temp files a crashed run left in artifacts/tmp/, and marks
runs left "running" in the ledger as interrupted.

  --all            remove every airlock-labelled resource, live controllers' too
${ROOT_FLAG_HELP}`,
  options: GC_OPTIONS,
  load: async () => (await import('../commands/gc.js')).gc,
});
