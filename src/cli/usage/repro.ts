import { DIMENSIONS } from '../../repro/variations.js';
import { defineCommand, ROOT_FLAG_HELP, SPEC_FLAG_HELP, SPEC_OPTIONS } from '../command.js';

export const REPRO_OPTIONS = {
  ...SPEC_OPTIONS,
  runs: { type: 'string' },
  vary: { type: 'string' },
  strict: { type: 'boolean', default: false },
  'no-diffoscope': { type: 'boolean', default: false },
} as const;

export const reproCommand = defineCommand({
  name: 'repro',
  summary: 'build and run N times from scratch under variations, compare, seal a signed verdict',
  usage: `usage: airlock repro [--runs N] [--vary LIST] [-f FILE] [--root DIR] [--strict] [--no-diffoscope] [--json]

Builds every image and runs every environment that has outputs N times from
scratch (no layer cache, no action cache). Run 1 uses airlock's defaults; each
later run varies every selected dimension that applies:
  ${DIMENSIONS.join(', ')}
Then compares each later run with run 1: images by normalized rootfs digest
(with --strict also by mtimes, outputs also by mode), outputs bit for bit. Each
differing path is named with what differs and its likely cause (timestamp,
hostname, build-path, username, locale-sort, file-order, random), with evidence.
The verdict is sealed into a signed bundle, proofs/repro-<id>/, that
\`airlock verify\` accepts. Exit 0 reproducible, 1 not reproducible.

  --runs N         runs to compare (default 2, at most 10)
  --vary LIST      comma-separated dimensions to vary (default: all that apply), or none
${SPEC_FLAG_HELP}
${ROOT_FLAG_HELP}
  --strict         also compare image mtimes and output modes
  --no-diffoscope  do not attach diffoscope's report (attached when installed)
  --json           one JSON event per line, then the result with every differing path`,
  options: REPRO_OPTIONS,

  load: async () => (await import('../commands/repro.js')).repro,
});
