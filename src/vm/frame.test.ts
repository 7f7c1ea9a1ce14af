import { describe, expect, it } from 'vitest';

import { decodeOutputEnd, decodeStepEnd, encodeFrame, encodeStepEnd, FrameDecoder, FrameError, FrameType, MAX_FRAME_PAYLOAD, Stream } from './frame.js';

const data = (s: string) => encodeFrame({ type: FrameType.STEP_DATA, stream: Stream.STDOUT, index: 3, payload: Buffer.from(s) });

describe('frames', () => {
  it('round-trips frames however the bytes are split', () => {
    const frames = [
      encodeFrame({ type: FrameType.HELLO, payload: Buffer.from('airlock-init/1 6.1.0') }),
      encodeFrame({ type: FrameType.STEP_START, index: 7 }),
      data('hello\n'),
      encodeFrame({ type: FrameType.STEP_END, index: 7, payload: encodeStepEnd({ exitCode: -1, timedOut: true, durationMs: 1234 }) }),
    ];
    const wire = Buffer.concat(frames);
    for (const step of [1, 3, 17, wire.length]) {
      const dec = new FrameDecoder();
      const got = [];
      for (let i = 0; i < wire.length; i += step) got.push(...dec.push(wire.subarray(i, i + step)));
      expect(got.map((f) => [f.type, f.stream, f.index, f.payload.toString()])).toEqual([
        [FrameType.HELLO, 0, 0, 'airlock-init/1 6.1.0'],
        [FrameType.STEP_START, 0, 7, ''],
        [FrameType.STEP_DATA, Stream.STDOUT, 3, 'hello\n'],
        [FrameType.STEP_END, 0, 7, encodeStepEnd({ exitCode: -1, timedOut: true, durationMs: 1234 }).toString()],
      ]);
      expect(decodeStepEnd(got[3]!.payload)).toEqual({ exitCode: -1, timedOut: true, durationMs: 1234 });
      expect(dec.pendingBytes).toBe(0);
    }
  });

  it('keeps a fake frame inside a payload as payload bytes', () => {
    const fake = Buffer.concat([
      encodeFrame({ type: FrameType.STEP_END, index: 0, payload: encodeStepEnd({ exitCode: 0, timedOut: false, durationMs: 1 }) }),
      encodeFrame({ type: FrameType.DONE }),
    ]);
    const wire = Buffer.concat([encodeFrame({ type: FrameType.STEP_DATA, stream: Stream.STDOUT, payload: fake }), encodeFrame({ type: FrameType.DONE })]);
    const frames = new FrameDecoder().push(wire);
    expect(frames).toHaveLength(2);
    expect(frames[0]!.type).toBe(FrameType.STEP_DATA);
    expect(frames[0]!.payload.equals(fake)).toBe(true);
    expect(frames[1]!.type).toBe(FrameType.DONE);
  });

  it('holds a truncated frame back and reports how much of it is pending', () => {
    const f = data('partial');
    const dec = new FrameDecoder();
    expect(dec.push(f.subarray(0, f.length - 1))).toEqual([]);
    expect(dec.pendingBytes).toBe(f.length - 1);
    expect(dec.push(f.subarray(f.length - 1))).toHaveLength(1);
  });

  it('refuses a bad crc, and stays broken afterwards', () => {
    const f = data('payload');
    f.writeUInt8(f.readUInt8(f.length - 6) ^ 0x01, f.length - 6); // flip a payload bit
    const dec = new FrameDecoder();
    expect(() => dec.push(f)).toThrow(FrameError);
    expect(() => dec.push(data('next'))).toThrow(/crc mismatch/);
  });

  it('refuses a corrupted header (the crc covers it too)', () => {
    const f = data('x');
    f[7] = 9; // index
    expect(() => new FrameDecoder().push(f)).toThrow(/crc mismatch/);
  });

  it('refuses a bad magic as soon as it shows, without searching for the next frame', () => {
    const dec = new FrameDecoder();
    expect(() => dec.push(Buffer.from('AL'))).not.toThrow();
    expect(() => dec.push(Buffer.concat([Buffer.from('X'), data('y')]))).toThrow(/bad magic at|malformed frame at byte 0: bad magic/);
    // garbage before a valid frame is not skipped
    expect(() => new FrameDecoder().push(Buffer.concat([Buffer.from('junk'), data('y')]))).toThrow(/bad magic/);
  });

  it('refuses a length beyond the limit before waiting for the bytes', () => {
    const h = data('');
    h.writeUInt32BE(MAX_FRAME_PAYLOAD + 1, 8);
    expect(() => new FrameDecoder().push(h.subarray(0, 12))).toThrow(/exceeds/);
    expect(() => encodeFrame({ type: FrameType.STEP_DATA, payload: Buffer.alloc(MAX_FRAME_PAYLOAD + 1) })).toThrow(RangeError);
  });

  it('decodes fixed payloads and refuses wrong sizes', () => {
    expect(() => decodeStepEnd(Buffer.alloc(8))).toThrow(FrameError);
    const p = Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from('tar: /out: No such file')]);
    expect(decodeOutputEnd(p)).toEqual({ status: 1, message: 'tar: /out: No such file' });
    expect(() => decodeOutputEnd(Buffer.alloc(3))).toThrow(FrameError);
  });
});
