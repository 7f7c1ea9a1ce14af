import { EXIT } from '../../errors.js';
import { defineCommand } from '../command.js';
import { flowJson, flowSummary, runVerifyReport } from '../run-flow.js';

export const smokeCommand = defineCommand({
  name: 'smoke',
  summary: 'run the root spec, then verify its bundle',
  usage: `usage: airlock smoke [--spec FILE] [--root DIR] [--json]

Runs every environment of the root spec (./airlock.yaml) for real (images are
reused when their build inputs are unchanged, cells are never replayed from the
action cache), then verifies the sealed bundle with the trusted keys in locks/.
Prints the bundle path and PASS only when the run passed and its bundle verified.`,
  options: { spec: { type: 'string' }, root: { type: 'string' } },
  async body(ctx) {
    const flow = await runVerifyReport({
      ...(ctx.values.spec ? { spec: ctx.values.spec as string } : {}),
      ...(ctx.values.root ? { root: ctx.values.root as string } : {}),
      runAllCells: true,
      reporter: ctx.reporter,
    });
    ctx.result(flowJson(flow), flowSummary(flow));
    if (flow.result.exitCode !== EXIT.OK) return flow.result.exitCode;
    return flow.check.verified ? EXIT.OK : EXIT.VERIFY;
  },
});
