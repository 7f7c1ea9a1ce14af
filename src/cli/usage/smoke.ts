import { defineCommand, ROOT_FLAG_HELP, SPEC_FLAG_HELP, SPEC_OPTIONS, TRUST_HELP } from '../command.js';

export const smokeCommand = defineCommand({
  name: 'smoke',
  summary: 'run the root spec, then verify its bundle',
  usage: `usage: airlock smoke [-f FILE] [--root DIR] [--json]

Runs every environment of the spec for real (images are reused when their build
inputs are unchanged, cells are never replayed from the action cache), then
verifies the sealed bundle with the trusted keys in locks/. Prints the bundle
path and PASS (exit 0) only when the run passed and its bundle verified; exit
codes as for \`airlock run\`.

${TRUST_HELP}

${SPEC_FLAG_HELP}
${ROOT_FLAG_HELP}`,
  options: SPEC_OPTIONS,
  load: async () => (await import('../commands/smoke.js')).smoke,
});
