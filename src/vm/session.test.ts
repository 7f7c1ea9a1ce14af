import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { isAirlockError } from '../errors.js';
import { encodeFrame, encodeStepEnd, FrameDecoder, FrameType, Stream, type Frame } from './frame.js';
import { GuestSession, ProtocolError } from './session.js';

function collector() {
  const chunks = new Map<string, Uint8Array[]>();
  const ended = new Set<string>();
  const errors = new Map<string, unknown>();
  const sink = (key: string) => {
    const p = new PassThrough();
    chunks.set(key, []);
    p.on('data', (c: Uint8Array) => chunks.get(key)!.push(c));
    p.on('end', () => ended.add(key));
    p.on('error', (e) => errors.set(key, e));
    return p;
  };
  const text = (key: string) => Buffer.concat(chunks.get(key) ?? []).toString();
  return { chunks, ended, errors, sink, text };
}

const f = (type: number, index = 0, payload: Buffer = Buffer.alloc(0), stream = 0): Frame => ({ type, index, stream, payload });
const hello = f(FrameType.HELLO, 0, Buffer.from('airlock-init/1'));
const end = (index: number, exitCode = 0) => f(FrameType.STEP_END, index, encodeStepEnd({ exitCode, timedOut: false, durationMs: 5 }));
const outEnd = (index: number, status = 0, msg = '') => f(FrameType.OUTPUT_END, index, Buffer.concat([Buffer.from([0, 0, 0, status]), Buffer.from(msg)]));

function session(steps = 2, outputs = ['/out']) {
  const c = collector();
  const s = new GuestSession(steps, outputs, {
    stepSinks: (i) => ({ stdout: c.sink(`${i}.out`), stderr: c.sink(`${i}.err`) }),
    outputSink: (p) => c.sink(`out:${p}`),
  });
  return { s, c };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('GuestSession', () => {
  it('routes a whole report to the sinks', async () => {
    const { s, c } = session();
    for (const fr of [
      hello,
      f(FrameType.STEP_START, 0),
      f(FrameType.STEP_DATA, 0, Buffer.from('out'), Stream.STDOUT),
      f(FrameType.STEP_DATA, 0, Buffer.from('err'), Stream.STDERR),
      end(0, 7),
      f(FrameType.OUTPUT_DATA, 0, Buffer.from('tarbytes')),
      outEnd(0),
      f(FrameType.DONE),
    ]) s.handle(fr);
    await settle();
    expect(s.steps).toEqual([{ exitCode: 7, timedOut: false, durationMs: 5 }, null]);
    expect(s.done).toBe(true);
    expect(c.text('0.out')).toBe('out');
    expect(c.text('0.err')).toBe('err');
    expect(c.text('out:/out')).toBe('tarbytes');
    expect([...c.ended].sort()).toEqual(['0.err', '0.out', 'out:/out']);
    expect(s.outputs).toEqual([{ path: '/out', ok: true, bytes: 8 }]);
    expect(s.sinkError).toBeUndefined();
  });

  it('a step that prints frames only adds to its stdout', async () => {
    const { s, c } = session(1, []);
    const fake = Buffer.concat([encodeFrame({ type: FrameType.STEP_END, payload: encodeStepEnd({ exitCode: 0, timedOut: false, durationMs: 0 }) }), encodeFrame({ type: FrameType.DONE })]);
    const wire = Buffer.concat([
      encodeFrame({ type: FrameType.HELLO }),
      encodeFrame({ type: FrameType.STEP_START }),
      encodeFrame({ type: FrameType.STEP_DATA, stream: Stream.STDOUT, payload: fake }),
      encodeFrame({ type: FrameType.STEP_END, payload: encodeStepEnd({ exitCode: 3, timedOut: false, durationMs: 1 }) }),
      encodeFrame({ type: FrameType.DONE }),
    ]);
    for (const fr of new FrameDecoder().push(wire)) s.handle(fr);
    await settle();
    expect(s.steps).toEqual([{ exitCode: 3, timedOut: false, durationMs: 1 }]);
    expect(Buffer.concat(c.chunks.get('0.out')!).equals(fake)).toBe(true);
  });

  it.each([
    ['data before HELLO', [f(FrameType.STEP_START, 0)]],
    ['a second HELLO', [hello, hello]],
    ['a step out of order', [hello, f(FrameType.STEP_START, 1)]],
    ['a step beyond the plan', [hello, f(FrameType.STEP_START, 0), end(0), f(FrameType.STEP_START, 1), end(1), f(FrameType.STEP_START, 2)]],
    ['data for another step', [hello, f(FrameType.STEP_START, 0), f(FrameType.STEP_DATA, 1, Buffer.from('x'), 1)]],
    ['an unknown stream', [hello, f(FrameType.STEP_START, 0), f(FrameType.STEP_DATA, 0, Buffer.from('x'), 3)]],
    ['an END without START', [hello, end(0)]],
    ['an output during a step', [hello, f(FrameType.STEP_START, 0), f(FrameType.OUTPUT_DATA, 0)]],
    ['a step after outputs', [hello, outEnd(0), f(FrameType.STEP_START, 0)]],
    ['DONE before the outputs', [hello, f(FrameType.DONE)]],
    ['frames after DONE', [hello, outEnd(0), f(FrameType.DONE), f(FrameType.STEP_START, 0)]],
    ['an unknown type', [hello, f(42)]],
  ])('refuses %s', (_name, frames) => {
    const { s } = session();
    const last = frames.at(-1)!;
    for (const fr of frames.slice(0, -1)) s.handle(fr);
    expect(() => s.handle(last)).toThrow(ProtocolError);
  });

  it('destroys the sink of an output tar could not make, with STEP_FAILED', async () => {
    const { s, c } = session(0);
    s.handle(hello);
    s.handle(outEnd(0, 1, "tar: can't change directory to '/out'"));
    await settle();
    expect(isAirlockError(c.errors.get('out:/out'), 'STEP_FAILED')).toBe(true);
    expect(s.outputs[0]).toMatchObject({ ok: false, error: "tar: can't change directory to '/out'" });
    expect(s.sinkError).toBeUndefined();
  });

  it('finish() ends a step cut short and refuses a partial output', async () => {
    const a = session();
    a.s.handle(hello);
    a.s.handle(f(FrameType.STEP_START, 0));
    a.s.handle(f(FrameType.STEP_DATA, 0, Buffer.from('half'), 1));
    a.s.finish('guest killed');
    await settle();
    expect(a.s.steps).toEqual([null, null]);
    expect(a.c.ended.has('0.out')).toBe(true);

    const b = session(0);
    b.s.handle(hello);
    b.s.handle(f(FrameType.OUTPUT_DATA, 0, Buffer.from('partial tar')));
    b.s.finish('guest killed');
    await settle();
    expect(isAirlockError(b.c.errors.get('out:/out'), 'STEP_FAILED')).toBe(true);
    expect(b.s.outputs[0]).toMatchObject({ ok: false, error: 'guest killed', bytes: 11 });
  });

  it('records an init error and a failing sink', async () => {
    const { s } = session();
    s.handle(f(FrameType.ERROR, 0, Buffer.from('mount tmpfs on /tmp: ENOSPC')));
    expect(s.initError).toBe('mount tmpfs on /tmp: ENOSPC');

    const broken = new GuestSession(1, [], {
      stepSinks: () => ({
        stdout: new Writable({ write: (_c, _e, cb) => cb(new Error('disk full')) }),
        stderr: new PassThrough(),
      }),
      outputSink: () => new PassThrough(),
    });
    broken.handle(hello);
    broken.handle(f(FrameType.STEP_START, 0));
    broken.handle(f(FrameType.STEP_DATA, 0, Buffer.from('x'), 1));
    await settle();
    expect(String(broken.sinkError)).toMatch(/disk full/);
  });

  it('asks for backpressure when a sink is full', () => {
    const slow = new Writable({ highWaterMark: 4, write: () => undefined });
    const s = new GuestSession(1, [], { stepSinks: () => ({ stdout: slow, stderr: new PassThrough() }), outputSink: () => new PassThrough() });
    s.handle(hello);
    s.handle(f(FrameType.STEP_START, 0));
    expect(s.handle(f(FrameType.STEP_DATA, 0, Buffer.from('0123456789'), 1))).toBe(slow);
  });
});
