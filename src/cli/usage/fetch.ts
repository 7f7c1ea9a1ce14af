import { defineCommand, ROOT_FLAG_HELP, SPEC_FLAG_HELP, SPEC_OPTIONS } from '../command.js';

/**
 * The lock's file name as help shows it. Written out rather than imported from
 * fetch/lock.ts, whose zod schema would load with every `--help`; usage.test.ts
 * keeps the two equal.
 */
export const INPUTS_LOCK_NAME = 'inputs.lock.json';

const FLAGS = `${SPEC_FLAG_HELP}
${ROOT_FLAG_HELP}
  --offline        never touch the network: every input must be pinned and already in the CAS
  --json           one JSON event per line, then the result`;

/** The flags `fetch` and `lock` share. */
export const FETCH_OPTIONS = {
  ...SPEC_OPTIONS,
  frozen: { type: 'boolean', default: false },
  offline: { type: 'boolean', default: false },
} as const;

export const fetchCommand = defineCommand({
  name: 'fetch',
  summary: "download the spec's inputs, pinned by sha256, into the CAS (the only network airlock uses)",
  usage: `usage: airlock fetch [-f FILE] [--root DIR] [--frozen] [--offline] [--json]

Makes every input of the spec's \`inputs:\` available in the CAS, downloading only
what is not already there under its pin (the spec's sha256, else the one in
locks/${INPUTS_LOCK_NAME}). Content that does not match its pin is refused.
The digests of inputs with no pin are learned and added to the lock (no entry
is dropped; \`airlock lock\` rewrites the lock).

  --frozen         refuse inputs without a pin, never write the lock
${FLAGS}`,
  options: FETCH_OPTIONS,
  load: async () => (await import('../commands/fetch.js')).fetchBody,
});

export const lockCommand = defineCommand({
  name: 'lock',
  summary: `pin every input of the spec by sha256 in locks/${INPUTS_LOCK_NAME}`,
  usage: `usage: airlock lock [-f FILE] [--root DIR] [--frozen] [--offline] [--json]

Fetches every input of the spec (learning the digest of those not pinned yet)
and writes locks/${INPUTS_LOCK_NAME} with exactly the spec's inputs: each
one's URL, sha256 and size. Entries of inputs no longer in the spec are dropped.

  --frozen         change nothing: fail (FETCH_NOT_PINNED) when the lock is not what
                   it would be written as (an input unpinned, added or removed)
${FLAGS}`,
  options: FETCH_OPTIONS,
  load: async () => (await import('../commands/fetch.js')).lockBody,
});
