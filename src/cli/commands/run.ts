import { AirlockError } from '../../errors.js';
import type { Reporter } from '../../run/reporter.js';
import { defineCommand } from '../command.js';
import { flowJson, flowSummary, runVerifyReport, type FlowOptions } from '../run-flow.js';

export const RUN_FLAGS = `  --spec FILE     the spec (default ./airlock.yaml); relative paths in it resolve against its folder
  --root DIR      workspace holding artifacts/, proofs/, locks/ (default: AIRLOCK_ROOT or the current directory)
  --no-cache      build without the engine's layer cache and run every cell (ignore the action cache)
  --rerun         run every cell even when the action cache could replay it (images are still reused)
  --frozen        refuse inputs not pinned by sha256 (in the spec or locks/inputs.lock.json)
  --offline       fetch nothing: every input must already be in the CAS
  --max-parallel N  cells at once (default: the matrix's maxParallel, else the number of CPUs)
  --json          one JSON event per line on stdout, ending with a result object`;

/** The flags `run` and `matrix` share. */
export const RUN_OPTIONS = {
  spec: { type: 'string' },
  root: { type: 'string' },
  'no-cache': { type: 'boolean', default: false },
  rerun: { type: 'boolean', default: false },
  frozen: { type: 'boolean', default: false },
  offline: { type: 'boolean', default: false },
  'max-parallel': { type: 'string' },
} as const;

/** `--max-parallel N` as a run option, refusing anything but a positive integer. */
function maxParallelFlag(value: unknown): { maxParallel?: number } {
  if (value === undefined) return {};
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new AirlockError('USAGE', `--max-parallel expects a positive integer, got ${JSON.stringify(value)}`);
  return { maxParallel: n };
}

/** The shared flags as the options of one run. */
export function runFlowOptions(values: Record<string, unknown>, reporter: Reporter): FlowOptions {
  return {
    ...(values.spec ? { spec: values.spec as string } : {}),
    ...(values.root ? { root: values.root as string } : {}),
    noCache: values['no-cache'] === true,
    runAllCells: values.rerun === true,
    fetch: { frozen: values.frozen === true, offline: values.offline === true },
    ...maxParallelFlag(values['max-parallel']),
    reporter,
  };
}

export const runCommand = defineCommand({
  name: 'run',
  summary: 'build and run environments of a spec, sealed, and seal a signed bundle',
  usage: `usage: airlock run [--spec FILE] [ENV...] [--root DIR] [--no-cache] [--rerun] [--frozen] [--offline] [--max-parallel N] [--json]

Builds the spec's images (network none), runs each selected environment (default:
all; a matrix environment once per cell, in parallel) in hardened cells, seals
proofs/<run-id>/, verifies it, and writes junit.xml and report.html next to it.
Exit 0 only when every expectation held.

${RUN_FLAGS}`,
  options: RUN_OPTIONS,
  allowPositionals: true,
  async body(ctx) {
    const flow = await runVerifyReport({ ...runFlowOptions(ctx.values, ctx.reporter), environments: ctx.positionals });
    ctx.result(flowJson(flow), flowSummary(flow));
    return flow.result.exitCode;
  },
});
