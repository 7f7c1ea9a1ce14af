import { AirlockError } from '../../errors.js';
import { parseCellSelector } from '../../plan/matrix.js';
import { loadSpec } from '../../spec/load.js';
import { defineCommand } from '../command.js';
import { flowJson, flowSummary, runVerifyReport } from '../run-flow.js';
import { maxParallelFlag, RUN_FLAGS } from './run.js';

export const matrixCommand = defineCommand({
  name: 'matrix',
  summary: "run the spec's matrix (or one cell of it: --cell cc=gcc,opt=-O2)",
  usage: `usage: airlock matrix [--cell AXIS=VALUE,...] [--spec FILE] [--root DIR] [--no-cache] [--frozen] [--offline] [--max-parallel N] [--json]

Runs the matrix environment once per cell (GitHub Actions' strategy.matrix
semantics), maxParallel at a time, replaying cells whose cache key is unchanged.
--cell runs only the cells matching every given axis value.

${RUN_FLAGS}`,
  options: {
    cell: { type: 'string' },
    spec: { type: 'string' },
    root: { type: 'string' },
    'no-cache': { type: 'boolean', default: false },
    frozen: { type: 'boolean', default: false },
    offline: { type: 'boolean', default: false },
    'max-parallel': { type: 'string' },
  },
  async body(ctx) {
    const loaded = await loadSpec((ctx.values.spec as string | undefined) ?? 'airlock.yaml');
    const matrixEnv = loaded.spec.matrix?.environment;
    if (!matrixEnv) throw new AirlockError('USAGE', `${loaded.file} defines no matrix`);
    const flow = await runVerifyReport({
      spec: loaded.file,
      ...(ctx.values.root ? { root: ctx.values.root as string } : {}),
      environments: [matrixEnv],
      ...(ctx.values.cell ? { cells: parseCellSelector(ctx.values.cell as string) } : {}),
      noCache: ctx.values['no-cache'] === true,
      fetch: { frozen: ctx.values.frozen === true, offline: ctx.values.offline === true },
      ...maxParallelFlag(ctx.values['max-parallel']),
      reporter: ctx.reporter,
    });
    ctx.result(flowJson(flow), flowSummary(flow));
    return flow.result.exitCode;
  },
});
