import { AirlockError } from '../../errors.js';
import { defineCommand } from '../command.js';
import { flowJson, flowSummary, runVerifyReport } from '../run-flow.js';

export const RUN_FLAGS = `  --spec FILE     the spec (default ./airlock.yaml); relative paths in it resolve against its folder
  --root DIR      workspace holding artifacts/, proofs/, locks/ (default: AIRLOCK_ROOT or the current directory)
  --no-cache      build without the engine's layer cache and run every cell (ignore the action cache)
  --frozen        refuse inputs not pinned by sha256 (in the spec or locks/inputs.lock.json)
  --offline       fetch nothing: every input must already be in the CAS
  --max-parallel N  cells at once (default: the matrix's maxParallel, else the number of CPUs)
  --json          one JSON event per line on stdout, ending with a result object`;

export const runCommand = defineCommand({
  name: 'run',
  summary: 'build and run environments of a spec, sealed, and seal a signed bundle',
  usage: `usage: airlock run [--spec FILE] [ENV...] [--root DIR] [--no-cache] [--frozen] [--offline] [--max-parallel N] [--json]

Builds the spec's images (network none), runs each selected environment (default:
all; a matrix environment once per cell, in parallel) in hardened cells, seals
proofs/<run-id>/, verifies it, and writes junit.xml and report.html next to it.
Exit 0 only when every expectation held.

${RUN_FLAGS}`,
  options: {
    spec: { type: 'string' },
    root: { type: 'string' },
    'no-cache': { type: 'boolean', default: false },
    frozen: { type: 'boolean', default: false },
    offline: { type: 'boolean', default: false },
    'max-parallel': { type: 'string' },
  },
  allowPositionals: true,
  async body(ctx) {
    const flow = await runVerifyReport({
      ...(ctx.values.spec ? { spec: ctx.values.spec as string } : {}),
      ...(ctx.values.root ? { root: ctx.values.root as string } : {}),
      environments: ctx.positionals,
      noCache: ctx.values['no-cache'] === true,
      fetch: { frozen: ctx.values.frozen === true, offline: ctx.values.offline === true },
      ...maxParallelFlag(ctx.values['max-parallel']),
      reporter: ctx.reporter,
    });
    ctx.result(flowJson(flow), flowSummary(flow));
    return flow.result.exitCode;
  },
});

/** `--max-parallel N` as a run option, refusing anything but a positive integer. */
export function maxParallelFlag(value: unknown): { maxParallel?: number } {
  if (value === undefined) return {};
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new AirlockError('USAGE', `--max-parallel expects a positive integer, got ${JSON.stringify(value)}`);
  return { maxParallel: n };
}
