import { DIMENSIONS } from '../../repro/variations.js';
import { defineCommand, ROOT_FLAG_HELP, SPEC_FLAG_HELP, SPEC_OPTIONS, TRUST_HELP } from '../command.js';

export const REPRO_OPTIONS = {
  ...SPEC_OPTIONS,
  runs: { type: 'string' },
  vary: { type: 'string' },
  strict: { type: 'boolean', default: false },
  'no-diffoscope': { type: 'boolean', default: false },
  'no-attribute': { type: 'boolean', default: false },
} as const;

export const reproCommand = defineCommand({
  name: 'repro',
  summary: 'build and run N times from scratch under variations, compare, seal a signed verdict',
  usage: `usage: airlock repro [--runs N] [--vary LIST] [-f FILE] [--root DIR] [--strict] [--no-attribute] [--no-diffoscope] [--json]

Builds every image and runs every environment that has outputs N times from
scratch (no layer cache, no action cache). Run 1 uses airlock's defaults; each
later run varies every selected dimension that applies:
  ${DIMENSIONS.join(', ')}
Then compares each later run with run 1: images by normalized rootfs digest
(with --strict also by mtimes, outputs also by mode), outputs bit for bit, and
opens archives and objects (tar, cpio, gzip, zip, ar/.deb, ELF) to the field.
When runs differ, each differing output is attributed by experiment: the cells
run again on run 1's images, once with nothing varied (what still differs is
inherent: clock, randomness, ASLR, order) and once per varied dimension alone
(what then differs is proven to depend on it): at most one run more than the
dimensions varied. Each path gets its causes (timestamp, timezone, hostname,
build-path, username, uid-gid, umask, locale, locale-sort, cpu-count, env-order,
file-order, random, address), the variation proven, the evidence and a fix.
The verdict is sealed into a signed bundle, proofs/repro-<id>/, that
\`airlock verify\` accepts, and verified at once. Exit 0 (REPRODUCIBLE) reproducible
and verified, 1 not reproducible, 7 reproducible but the verdict bundle not verified.

${TRUST_HELP}

  --runs N         runs to compare (default 2, at most 10)
  --vary LIST      comma-separated dimensions to vary (default: all that apply), or none
${SPEC_FLAG_HELP}
${ROOT_FLAG_HELP}
  --strict         also compare image mtimes and output modes
  --no-attribute   when runs differ, do not run the experiments that prove each cause
  --no-diffoscope  do not attach diffoscope's report (attached when installed)
  --json           one JSON event per line, then the result with every differing path`,
  options: REPRO_OPTIONS,

  load: async () => (await import('../commands/repro.js')).repro,
});
