import { describe, expect, it } from 'vitest';
import { commandVerdict, CommandWaitStrategy } from './command.js';

const argv = ['pg_isready', '-h', '127.0.0.1'];

describe('commandVerdict', () => {
  it('is ready on exit 0', () => {
    expect(commandVerdict(argv, { kind: 'exited', exitCode: 0, output: 'accepting connections\n' })).toEqual({ kind: 'ready' });
  });

  it('keeps waiting on another exit, quoting the last output line', () => {
    expect(commandVerdict(argv, { kind: 'exited', exitCode: 2, output: 'first\nno response\n' })).toEqual({
      kind: 'waiting',
      reason: '`pg_isready -h 127.0.0.1` exited 2: no response',
    });
  });

  it('fails at once when the program cannot run in the container (126, 127)', () => {
    const v = commandVerdict(argv, { kind: 'exited', exitCode: 126, output: 'OCI runtime exec failed: exec: "pg_isready": executable file not found in $PATH: unknown\n' });
    expect(v.kind).toBe('failed');
    expect(v.kind === 'failed' && v.reason).toContain('cannot run in the container (exit 126)');
  });

  it('keeps waiting after an attempt that did not finish', () => {
    expect(commandVerdict(argv, { kind: 'timed-out', output: '' })).toEqual({ kind: 'waiting', reason: '`pg_isready -h 127.0.0.1` did not finish in time' });
  });
});

describe('CommandWaitStrategy', () => {
  it('refuses an empty argv and describes itself by its argv', () => {
    expect(() => new CommandWaitStrategy([])).toThrow('Expected `argv` to be a non-empty array of strings, got []');
    expect(new CommandWaitStrategy(argv).description).toBe('command pg_isready -h 127.0.0.1');
  });
});
