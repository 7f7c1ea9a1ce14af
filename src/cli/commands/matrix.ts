import { AirlockError } from '../../errors.js';
import { parseCellSelector } from '../../plan/matrix.js';
import { loadSpec } from '../../spec/load.js';
import { defineCommand } from '../command.js';
import { flowJson, flowSummary, runVerifyReport } from '../run-flow.js';
import { RUN_FLAGS, RUN_OPTIONS, runFlowOptions } from './run.js';

export const matrixCommand = defineCommand({
  name: 'matrix',
  summary: "run the spec's matrix (or one cell of it: --cell cc=gcc,opt=-O2)",
  usage: `usage: airlock matrix [--cell AXIS=VALUE,...] [--spec FILE] [--root DIR] [--no-cache] [--rerun] [--frozen] [--offline] [--max-parallel N] [--json]

Runs the matrix environment once per cell (GitHub Actions' strategy.matrix
semantics), maxParallel at a time, replaying cells whose cache key is unchanged.
--cell runs only the cells matching every given axis value.

${RUN_FLAGS}`,
  options: { ...RUN_OPTIONS, cell: { type: 'string' } },
  async body(ctx) {
    const loaded = await loadSpec((ctx.values.spec as string | undefined) ?? 'airlock.yaml');
    const matrixEnv = loaded.spec.matrix?.environment;
    if (!matrixEnv) throw new AirlockError('USAGE', `${loaded.file} defines no matrix`);
    const flow = await runVerifyReport({
      ...runFlowOptions(ctx.values, ctx.reporter),
      spec: loaded.file,
      environments: [matrixEnv],
      ...(ctx.values.cell ? { cells: parseCellSelector(ctx.values.cell as string) } : {}),
    });
    ctx.result(flowJson(flow), flowSummary(flow));
    return flow.result.exitCode;
  },
});
