import { defineCommand, ROOT_FLAG_HELP } from '../command.js';

export const casCommand = defineCommand({
  name: 'cas',
  summary: 'content-addressed store: `cas verify` re-hashes every blob and names corrupt ones',
  usage: `usage: airlock cas verify [--root DIR] [--json]

Re-hashes every blob under artifacts/blobs/sha256/ (streaming) and names each
one whose content does not match its name. Exit 0 all good, 8 corruption found.

${ROOT_FLAG_HELP}`,
  options: {},
  allowPositionals: true,
  load: async () => (await import('../commands/cas.js')).cas,
});
