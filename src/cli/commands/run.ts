import { AirlockError } from '../../errors.js';
import type { Reporter } from '../../run/reporter.js';
import type { Body, CommandContext, Values } from '../command.js';
import { flowExitCode, flowJson, flowSummary, runVerifyReport, type FlowOptions } from '../run-flow.js';
import type { RUN_OPTIONS } from '../usage/run.js';

/** `--max-parallel N` as a run option, refusing anything but a positive integer. */
function maxParallelFlag(value: unknown): { maxParallel?: number } {
  if (value === undefined) return {};
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new AirlockError('USAGE', `--max-parallel expects a positive integer, got ${JSON.stringify(value)}`);
  return { maxParallel: n };
}

/** The shared flags of `run` and `matrix` as the options of one run. */
export function runFlowOptions(ctx: CommandContext<Values<typeof RUN_OPTIONS>>, reporter: Reporter): FlowOptions {
  const { values } = ctx;
  return {
    spec: ctx.specFile(),
    root: ctx.root,
    noCache: values['no-cache'] === true,
    runAllCells: values.rerun === true,
    fetch: { frozen: values.frozen === true, offline: values.offline === true },
    ...maxParallelFlag(values['max-parallel']),
    reporter,
  };
}

export const run: Body<typeof RUN_OPTIONS> = async (ctx) => {
  const flow = await runVerifyReport({ ...runFlowOptions(ctx, ctx.reporter), environments: ctx.positionals });
  ctx.result(flowJson(flow), flowSummary(flow));
  return flowExitCode(flow);
};
