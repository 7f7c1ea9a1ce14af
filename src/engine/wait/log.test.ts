import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fakeContainer as fakeHandle } from '../testing/fake-engine.js';
import { containerState, logFrame } from './testing/fixtures.js';
import { lineMatcher, LogWaitStrategy } from './log.js';

const frame = logFrame;

/** A container whose followed log is `stream`, and whose state says it exited with `exitCode`. */
function fakeContainer(stream: PassThrough, exitCode = 0) {
  return fakeHandle({
    followLogs: async () => stream,
    inspect: async () => ({
      Id: 'fake0',
      HostConfig: {},
      Config: { User: '' },
      State: containerState({ Status: 'exited', Running: false, ExitCode: exitCode }),
      NetworkSettings: { Networks: {} },
    }),
  });
}

describe('lineMatcher', () => {
  it('treats /…/flags as a regular expression and anything else as a substring', () => {
    expect(lineMatcher('/ready (on|at) \\d+/i').test('Server READY on 5432')).toBe(true);
    expect(lineMatcher('/ready (on|at) \\d+/i').shown).toBe('/ready (on|at) \\d+/i');
    expect(lineMatcher('ready (on').test('ready (on 5432)')).toBe(true);
    expect(lineMatcher('ready (on').shown).toBe('"ready (on"');
    expect(lineMatcher('a.b').test('axb')).toBe(false);
  });

  it('drops the global flag, so matching does not depend on the previous line', () => {
    const m = lineMatcher(/ready/g);
    expect([m.test('ready'), m.test('ready'), m.test('ready')]).toEqual([true, true, true]);
  });

  it('rejects an invalid regular expression and an empty pattern with exact messages', () => {
    expect(() => lineMatcher('/(unclosed/')).toThrow(/^Expected `pattern` to be a valid regular expression, got `\/\(unclosed\/`/);
    expect(() => lineMatcher('')).toThrow('Expected `pattern` to be a non-empty string or a RegExp, got ``');
  });
});

describe('LogWaitStrategy', () => {
  it('is ready when a line matches on either stream, across chunk boundaries', async () => {
    const stream = new PassThrough();
    const wait = new LogWaitStrategy('/accepting connections/').waitUntilReady(fakeContainer(stream), { deadline: Date.now() + 5_000 });
    stream.write(frame(1, 'booting\n'));
    const f = frame(2, 'database system is ready to accepting connections\n');
    stream.write(f.subarray(0, 13));
    stream.write(f.subarray(13));
    await expect(wait).resolves.toMatchObject({ strategy: 'log /accepting connections/' });
    expect(stream.destroyed).toBe(true);
  });

  it('waits for the line to match `times` times', async () => {
    const stream = new PassThrough();
    let done = false;
    const wait = new LogWaitStrategy('ready', 2).waitUntilReady(fakeContainer(stream), { deadline: Date.now() + 5_000 }).then((r) => {
      done = true;
      return r;
    });
    stream.write(frame(1, 'ready\n'));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    stream.write(frame(1, 'ready again\n'));
    await expect(wait).resolves.toMatchObject({ strategy: 'log "ready" ×2' });
  });

  it('fails fast when the log ends because the container exited, saying how and quoting the last line', async () => {
    const stream = new PassThrough();
    const wait = new LogWaitStrategy('ready').waitUntilReady(fakeContainer(stream, 3), { deadline: Date.now() + 60_000 });
    stream.end(frame(2, 'bind: address in use'));
    await expect(wait).rejects.toMatchObject({
      code: 'SERVICE_UNHEALTHY',
      details: { timedOut: false, reason: 'the container exited with code 3 before its log matched; last line: bind: address in use' },
    });
  });

  it('times out at the deadline with the last line seen', async () => {
    const stream = new PassThrough();
    const wait = new LogWaitStrategy('ready').waitUntilReady(fakeContainer(stream), { deadline: Date.now() + 100 });
    stream.write(frame(1, 'still loading\n'));
    await expect(wait).rejects.toMatchObject({ code: 'SERVICE_UNHEALTHY', details: { timedOut: true, reason: 'no log line matched (0 of 1); last line: still loading' } });
    expect(stream.destroyed).toBe(true);
  });

  it('stops at once on abort', async () => {
    const stream = new PassThrough();
    const ac = new AbortController();
    const wait = new LogWaitStrategy('ready').waitUntilReady(fakeContainer(stream), { deadline: Date.now() + 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 10);
    await expect(wait).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(stream.destroyed).toBe(true);
  });
});
