import { describe, expect, it } from 'vitest';
import { containerState } from './testing/fixtures.js';
import { runningVerdict } from './running.js';
import { endedReason } from './strategy.js';

const state = containerState;

describe('endedReason', () => {
  it('is undefined while the container runs or has not started yet', () => {
    expect(endedReason(state({}))).toBeUndefined();
    expect(endedReason(state({ Status: 'created', Running: false }))).toBeUndefined();
  });

  it('names the exit code, an OOM kill and the engine’s error', () => {
    expect(endedReason(state({ Status: 'exited', Running: false, ExitCode: 137, OOMKilled: true }))).toBe(
      'the container exited with code 137 (killed: out of memory)',
    );
    expect(endedReason(state({ Status: 'exited', Running: false, ExitCode: 127, Error: 'exec: "redis-server": not found' }))).toBe(
      'the container exited with code 127: exec: "redis-server": not found',
    );
  });
});

describe('runningVerdict', () => {
  it('is ready when running, waits while created, fails once ended', () => {
    expect(runningVerdict(state({}))).toEqual({ kind: 'ready' });
    expect(runningVerdict(state({ Status: 'created', Running: false }))).toEqual({ kind: 'waiting', reason: 'the container is created' });
    expect(runningVerdict(state({ Status: 'exited', Running: false, ExitCode: 1 })).kind).toBe('failed');
  });
});
