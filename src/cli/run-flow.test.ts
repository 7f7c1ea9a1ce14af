import { describe, expect, it } from 'vitest';
import { EXIT, type ExitCode } from '../errors.js';
import type { RunResult } from '../run/run.js';
import { flowExitCode, flowJson, flowSummary, type FlowResult } from './run-flow.js';

function flow(runExit: ExitCode, verifyExitCode: ExitCode, code = 'INTERNAL'): FlowResult {
  const verified = verifyExitCode === EXIT.OK;
  return {
    result: { runId: 'r', bundleDir: '/p/r', verdict: runExit === EXIT.OK ? 'passed' : 'failed', exitCode: runExit, durationMs: 1, images: [], cells: [] } as unknown as RunResult,
    verification: undefined,
    check: verified ? { verified: true, keyid: 'k' } : { verified: false, code, problem: `[${code}] …` },
    trust: { keyid: 'k', status: code === 'KEY_UNTRUSTED' ? 'untrusted' : 'trusted', path: '/p/locks/keys/k.pub.pem' },
    verifyExitCode,
    reports: { junit: 'j', html: 'h' },
  };
}

describe('flowExitCode', () => {
  it('a passing run whose own bundle does not verify does not exit 0, and says why', () => {
    const f = flow(EXIT.OK, EXIT.INTERNAL);
    expect(flowSummary(f).at(-1)).toBe('FAIL (passed, bundle not verified [INTERNAL])');
    expect(flowExitCode(f)).toBe(EXIT.INTERNAL);
    expect(flowJson(f)).toMatchObject({ exitCode: EXIT.INTERNAL, code: 'INTERNAL' });
    expect(flowExitCode(flow(EXIT.OK, EXIT.VERIFY))).toBe(EXIT.VERIFY);
  });

  it('a passing run signed by a key the project does not trust: FAIL, exit 7, code KEY_UNTRUSTED in text and JSON', () => {
    const f = flow(EXIT.OK, EXIT.VERIFY, 'KEY_UNTRUSTED');
    expect(flowSummary(f).at(-1)).toBe('FAIL (passed, bundle signed by a key this project does not trust [KEY_UNTRUSTED])');
    expect(flowExitCode(f)).toBe(EXIT.VERIFY);
    expect(flowJson(f)).toMatchObject({ exitCode: EXIT.VERIFY, code: 'KEY_UNTRUSTED', verified: { verified: false, code: 'KEY_UNTRUSTED' }, trust: { status: 'untrusted' } });
  });

  it('keeps the run’s own code when it did not pass, and 0 only for a verified pass', () => {
    expect(flowExitCode(flow(EXIT.FAILED, EXIT.VERIFY))).toBe(EXIT.FAILED);
    expect(flowJson(flow(EXIT.FAILED, EXIT.VERIFY))).not.toHaveProperty('code');
    expect(flowExitCode(flow(EXIT.OK, EXIT.OK))).toBe(EXIT.OK);
    expect(flowSummary(flow(EXIT.OK, EXIT.OK)).at(-1)).toBe('PASS');
  });
});
