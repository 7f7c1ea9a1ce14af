import { defineCommand, TRUST_HELP } from '../command.js';
import { RUN_FLAGS, RUN_OPTIONS } from './run.js';

export const MATRIX_OPTIONS = { ...RUN_OPTIONS, cell: { type: 'string' } } as const;

export const matrixCommand = defineCommand({
  name: 'matrix',
  summary: "run the spec's matrix (or one cell of it: --cell cc=gcc,opt=-O2)",
  usage: `usage: airlock matrix [--cell AXIS=VALUE,...] [-f FILE] [--root DIR] [--no-cache] [--rerun] [--frozen] [--offline] [--max-parallel N] [--json]

Runs the matrix environment once per cell (GitHub Actions' strategy.matrix
semantics), maxParallel at a time, replaying cells whose cache key is unchanged.
--cell runs only the cells matching every given axis value. Exit codes and the
bundle's verification as for \`airlock run\`.

${TRUST_HELP}

${RUN_FLAGS}`,
  options: MATRIX_OPTIONS,
  load: async () => (await import('../commands/matrix.js')).matrix,
});
