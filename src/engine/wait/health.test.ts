import { describe, expect, it } from 'vitest';
import { containerState } from './testing/fixtures.js';
import { healthVerdict } from './health.js';

const state = containerState;
const probe = (ExitCode: number, Output: string) => ({ Start: '', End: '', ExitCode, Output });

describe('healthVerdict', () => {
  it('is ready once the engine says healthy', () => {
    expect(healthVerdict(state({ Health: { Status: 'healthy', FailingStreak: 0, Log: [probe(0, '')] } }))).toEqual({ kind: 'ready' });
  });

  it('keeps waiting while starting, quoting the latest probes', () => {
    const v = healthVerdict(state({ Health: { Status: 'starting', FailingStreak: 1, Log: [probe(1, 'nc: can\'t connect\n  to remote host')] } }));
    expect(v).toEqual({ kind: 'waiting', reason: "health is starting; last probes: exit 1: nc: can't connect to remote host" });
  });

  it('fails fast when unhealthy, with the last three probe outputs', () => {
    const log = [probe(1, 'a'), probe(1, 'b'), probe(2, 'c'), probe(1, '')];
    const v = healthVerdict(state({ Health: { Status: 'unhealthy', FailingStreak: 4, Log: log } }));
    expect(v).toEqual({ kind: 'failed', reason: 'the engine reports it unhealthy after 4 failing probes; last probes: exit 1: b | exit 2: c | exit 1: (no output)' });
  });

  it('fails fast when the container exited, even while its health still says starting', () => {
    const v = healthVerdict(state({ Status: 'exited', Running: false, ExitCode: 2, Health: { Status: 'starting', FailingStreak: 0, Log: [] } }));
    expect(v).toEqual({ kind: 'failed', reason: 'the container exited with code 2' });
  });

  it('fails fast for a container without a healthcheck instead of waiting for the timeout', () => {
    expect(healthVerdict(state({})).kind).toBe('failed');
  });
});
