import { AirlockError } from '../../errors.js';
import { parseCellSelector } from '../../plan/matrix.js';
import { loadSpec } from '../../spec/load.js';
import type { Body } from '../command.js';
import { flowExitCode, flowJson, flowSummary, runVerifyReport } from '../run-flow.js';
import type { MATRIX_OPTIONS } from '../usage/matrix.js';
import { runFlowOptions } from './run.js';

export const matrix: Body<typeof MATRIX_OPTIONS> = async (ctx) => {
  const loaded = await loadSpec(ctx.specFile());
  const matrixEnv = loaded.spec.matrix?.environment;
  if (!matrixEnv) throw new AirlockError('USAGE', `${loaded.file} defines no matrix`);
  const flow = await runVerifyReport({
    ...runFlowOptions(ctx, ctx.reporter),
    spec: loaded.file,
    environments: [matrixEnv],
    ...(ctx.values.cell ? { cells: parseCellSelector(ctx.values.cell as string) } : {}),
  });
  ctx.result(flowJson(flow), flowSummary(flow));
  return flowExitCode(flow);
};
