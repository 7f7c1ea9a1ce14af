import { describe, expect, it } from 'vitest';
import { logFrame } from './testing/fixtures.js';
import { LineSplitter, LogDemuxer, logLines } from './logs.js';

const frame = logFrame;

describe('LogDemuxer', () => {
  it('splits multiplexed frames by stream', () => {
    const frames = new LogDemuxer().push(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')]));
    expect(frames.map((f) => [f.stream, f.data.toString()])).toEqual([
      ['stdout', 'out\n'],
      ['stderr', 'err\n'],
    ]);
  });

  it('reassembles headers and payloads split across chunks, byte by byte', () => {
    const all = Buffer.concat([frame(1, 'hello '), frame(2, 'oops\n'), frame(1, 'world\n')]);
    const d = new LogDemuxer();
    const got: string[] = [];
    for (let i = 0; i < all.length; i++) for (const f of d.push(all.subarray(i, i + 1))) got.push(`${f.stream}:${f.data.toString()}`);
    expect(got).toEqual(['stdout:hello ', 'stderr:oops\n', 'stdout:world\n']);
  });

  it('passes a stream without headers (a TTY container) through as stdout', () => {
    const d = new LogDemuxer();
    expect(d.push(Buffer.from('plain text\n')).map((f) => [f.stream, f.data.toString()])).toEqual([['stdout', 'plain text\n']]);
    expect(d.push(Buffer.from('more')).map((f) => f.data.toString())).toEqual(['more']);
  });
});

describe('LineSplitter', () => {
  it('returns complete lines, keeps the partial one for later, strips CR', () => {
    const s = new LineSplitter();
    expect(s.push('a\r\nb')).toEqual(['a']);
    expect(s.push('c\n\nd')).toEqual(['bc', '']);
    expect(s.flush()).toEqual(['d']);
    expect(s.flush()).toEqual([]);
  });
});

describe('logLines', () => {
  it('interleaves both streams in recorded order, keeping each stream’s lines whole', () => {
    const buffer = Buffer.concat([frame(1, 'starting\nlisten'), frame(2, 'warning: x\n'), frame(1, 'ing\n'), frame(2, 'fatal')]);
    expect(logLines(buffer)).toEqual(['starting', 'warning: x', 'listening', 'fatal']);
  });

  it('is empty for an empty log', () => {
    expect(logLines(Buffer.alloc(0))).toEqual([]);
  });
});
