import { defineCommand, ROOT_FLAG_HELP, SPEC_FLAG_HELP, SPEC_OPTIONS } from '../command.js';

export const BASE_OPTIONS = {
  ...SPEC_OPTIONS,
  offline: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  // the lock is never rewritten by `airlock base`: --frozen is what it always does now
  frozen: { type: 'boolean', default: false },
  only: { type: 'string', multiple: true },
} as const;

export const baseCommand = defineCommand({
  name: 'base',
  summary: 'make the base images (and the VM kernel) from their locks; `base update` re-resolves the locks',
  usage: `usage: airlock base [--offline] [--force] [--only REF]... [--root DIR] [--json]
       airlock base update [--only REF]... [--root DIR] [--json]

Makes every base image exactly as locks/base-images.lock.json says: the built-in
airlock/busybox, airlock/debian:bookworm and airlock/debian:bookworm-build
(locked in airlock's own locks/) and the spec's own \`bases:\` (locked in the
project's locks/). Each base is built only from the Debian package files its
lock names by sha256 — taken from the CAS (artifacts/blobs), else downloaded
from the recorded mirror URL and kept only when the hash matches — and must
measure to the locked rootfs digest; a difference is an error, never a re-pin.
The VM guest kernel comes from its locked .deb the same way. Fast when the
engine already holds images matching the lock. Never writes a lock.

\`airlock base update\` (and only it) re-resolves against today's Debian mirror
(signed InRelease, Packages indexes, apt's choice of packages), fetches the new
files into the CAS, rebuilds, and rewrites the project's lock entries (and
airlock's own when run in airlock's repository: the built-ins and the kernel),
printing what changed: + added, - removed, ~ old -> new.

  --offline        no network at all: every locked file must be in the CAS
  --force          rebuild even when a matching image is present
  --only REF       only this base (repeatable); \`kernel\` names the VM kernel
  --frozen         accepted for compatibility: never updating the lock is the default
${SPEC_FLAG_HELP}
${ROOT_FLAG_HELP}`,
  options: BASE_OPTIONS,
  allowPositionals: true,
  load: async () => (await import('../commands/base.js')).base,
});
