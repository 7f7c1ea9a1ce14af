import { defineCommand, ROOT_FLAG_HELP, SPEC_FLAG_HELP, SPEC_OPTIONS, TRUST_HELP } from '../command.js';

export const RUN_FLAGS = `${SPEC_FLAG_HELP}
${ROOT_FLAG_HELP}
  --no-cache       build without the engine's layer cache and run every cell (ignore the action cache)
  --rerun          run every cell even when the action cache could replay it (images are still reused)
  --frozen         refuse inputs not pinned by sha256 (in the spec or locks/inputs.lock.json)
  --offline        fetch nothing: every input must already be in the CAS
  --max-parallel N cells at once (default: the matrix's maxParallel, else the number of CPUs)
  --json           one JSON event per line on stdout, ending with a result object`;

/** The flags `run` and `matrix` share. */
export const RUN_OPTIONS = {
  ...SPEC_OPTIONS,
  'no-cache': { type: 'boolean', default: false },
  rerun: { type: 'boolean', default: false },
  frozen: { type: 'boolean', default: false },
  offline: { type: 'boolean', default: false },
  'max-parallel': { type: 'string' },
} as const;

export const runCommand = defineCommand({
  name: 'run',
  summary: 'build and run environments of a spec, sealed, and seal a signed bundle',
  usage: `usage: airlock run [-f FILE] [ENV...] [--root DIR] [--no-cache] [--rerun] [--frozen] [--offline] [--max-parallel N] [--json]

Builds the spec's images (network none), runs each selected environment (default:
all; a matrix environment once per cell, in parallel) in hardened cells, seals
proofs/<run-id>/, verifies it, and writes junit.xml and report.html next to it.
Relative paths in the spec resolve against its folder. Exit 0 (and PASS) only
when every expectation held and the bundle verified; otherwise the run's own code
(1 an expectation failed, 5 a build failed, …), else the verification's (7).

${TRUST_HELP}

${RUN_FLAGS}`,
  options: RUN_OPTIONS,
  allowPositionals: true,
  load: async () => (await import('../commands/run.js')).run,
});
