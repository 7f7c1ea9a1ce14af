import { defineCommand } from '../command.js';
import { KEY_CAS_OPTIONS } from './verify.js';

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
              the bundle, then the workspace's artifacts/)
  --root DIR  workspace whose locks/ hold the trusted keys (default: AIRLOCK_ROOT, else the
              folder of the spec found here or above, else here)`,
  options: KEY_CAS_OPTIONS,
  allowPositionals: true,
  load: async () => (await import('../commands/export.js')).exportBody,
});
