import { describe, expect, it } from 'vitest';
import { EXIT, type ExitCode } from '../errors.js';
import type { RunResult } from '../run/run.js';
import { flowExitCode, flowJson, flowSummary, type FlowResult } from './run-flow.js';

function flow(runExit: ExitCode, verifyExitCode: ExitCode): FlowResult {
  const verified = verifyExitCode === EXIT.OK;
  return {
    result: { runId: 'r', bundleDir: '/p/r', verdict: runExit === EXIT.OK ? 'passed' : 'failed', exitCode: runExit, durationMs: 1, images: [], cells: [] } as unknown as RunResult,
    verification: undefined,
    check: verified ? { verified: true, keyid: 'k' } : { verified: false, problem: '[INTERNAL] Maximum call stack size exceeded' },
    verifyExitCode,
    reports: { junit: 'j', html: 'h' },
  };
}

describe('flowExitCode', () => {
  it('a passing run whose own bundle does not verify does not exit 0', () => {
    const f = flow(EXIT.OK, EXIT.INTERNAL);
    expect(flowSummary(f).at(-1)).toBe('FAIL (passed, bundle not verified)');
    expect(flowExitCode(f)).toBe(EXIT.INTERNAL);
    expect(flowJson(f).exitCode).toBe(EXIT.INTERNAL);
    expect(flowExitCode(flow(EXIT.OK, EXIT.VERIFY))).toBe(EXIT.VERIFY);
  });

  it('keeps the run’s own code when it did not pass, and 0 only for a verified pass', () => {
    expect(flowExitCode(flow(EXIT.FAILED, EXIT.VERIFY))).toBe(EXIT.FAILED);
    expect(flowExitCode(flow(EXIT.OK, EXIT.OK))).toBe(EXIT.OK);
  });
});
