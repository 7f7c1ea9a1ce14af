import type { Body, SPEC_OPTIONS } from '../command.js';
import { flowExitCode, flowJson, flowSummary, runVerifyReport } from '../run-flow.js';

export const smoke: Body<typeof SPEC_OPTIONS> = async (ctx) => {
  const flow = await runVerifyReport({ spec: ctx.specFile(), root: ctx.root, runAllCells: true, reporter: ctx.reporter });
  ctx.result(flowJson(flow), flowSummary(flow));
  return flowExitCode(flow);
};
