import { defineCommand } from '../command.js';

export const REPLAY_OPTIONS = {
  key: { type: 'string', multiple: true },
  cas: { type: 'string', multiple: true },
  cache: { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
} as const;

export const replayCommand = defineCommand({
  name: 'replay',
  summary: 'verify a bundle, rebuild and rerun it from what it recorded alone, compare with the signed results',
  usage: `usage: airlock replay <bundle-dir | exported bundle> [--key PEM]... [--cas DIR]... [--root DIR] [--cache] [--keep] [--json]

Verifies the bundle first and refuses one that does not verify (exit 7). Then
reconstructs the run from what the bundle recorded alone — the spec, the
Dockerfiles, the build-context tars (extracted safely), golden files and locks —
in a fresh temporary workspace at another path, checks the engine's base images
against the recorded rootfs digests (saying so plainly when they differ), runs
it from scratch with its own CAS, and compares exit codes, stdout/stderr and
outputs with the signed ones, explaining each difference like \`airlock repro\`.
The replay's own bundle names the original (a resolved dependency) and is kept,
with its blobs, in proofs/<run-id>/. Exit 0 reproduced, 1 differs.

  --key PEM   trust only this public key (repeatable; default: every locks/keys/*.pub.pem)
  --cas DIR   a CAS root holding the original's blobs (repeatable; default: the bundle's
              own blobs/, then ../../artifacts next to it, then the workspace's artifacts/)
  --root DIR  workspace whose locks/ hold the trusted keys and whose proofs/ keep the replay
              (default: AIRLOCK_ROOT, else the folder of the spec found here or above, else here)
  --cache     let the engine reuse its layer cache (faster; the default rebuilds everything)
  --keep      keep the temporary workspace the run was rebuilt in
  --json      one JSON event per line, then the result with every differing path`,
  options: REPLAY_OPTIONS,

  allowPositionals: true,
  load: async () => (await import('../commands/replay.js')).replay,
});
