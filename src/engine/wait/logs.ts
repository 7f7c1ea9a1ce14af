import type { EngineContainer } from '../engine.js';

export type StreamName = 'stdout' | 'stderr';
export interface Frame {
  stream: StreamName;
  data: Buffer;
}

const HEADER = 8;

/**
 * Splits the engine's multiplexed log/attach stream (8-byte header: stream,
 * 0, 0, 0, big-endian length) into frames, across chunk boundaries. A stream
 * that does not start with such a header (a TTY container) is passed through
 * as stdout.
 */
export class LogDemuxer {
  #pending = Buffer.alloc(0);
  /** undefined until the first bytes say whether the stream is multiplexed */
  #raw: boolean | undefined;

  push(chunk: Buffer): Frame[] {
    if (this.#raw === undefined && chunk.length > 0) {
      const b = Buffer.concat([this.#pending, chunk]);
      if (b.length < 4) {
        this.#pending = b;
        return [];
      }
      this.#raw = !(b[0]! <= 2 && b[1] === 0 && b[2] === 0 && b[3] === 0);
      this.#pending = Buffer.alloc(0);
      chunk = b;
    }
    if (this.#raw) return chunk.length > 0 ? [{ stream: 'stdout', data: chunk }] : [];
    let buf = Buffer.concat([this.#pending, chunk]);
    const frames: Frame[] = [];
    while (buf.length >= HEADER) {
      const size = buf.readUInt32BE(4);
      if (buf.length < HEADER + size) break;
      frames.push({ stream: buf[0] === 2 ? 'stderr' : 'stdout', data: buf.subarray(HEADER, HEADER + size) });
      buf = buf.subarray(HEADER + size);
    }
    this.#pending = Buffer.from(buf);
    return frames;
  }
}

/** Turns chunks into complete lines (without `\n` or a trailing `\r`); `flush` returns an unterminated last line. */
export class LineSplitter {
  #partial = '';

  push(text: string): string[] {
    const parts = (this.#partial + text).split('\n');
    this.#partial = parts.pop() ?? '';
    return parts.map((l) => l.replace(/\r$/, ''));
  }

  flush(): string[] {
    const rest = this.#partial.replace(/\r$/, '');
    this.#partial = '';
    return rest ? [rest] : [];
  }
}

/** Lines of a whole (non-followed) log buffer, stdout and stderr interleaved as the engine recorded them. */
export function logLines(buffer: Buffer): string[] {
  const demuxer = new LogDemuxer();
  const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
  const lines: string[] = [];
  for (const frame of demuxer.push(buffer)) lines.push(...splitters[frame.stream].push(frame.data.toString('utf8')));
  lines.push(...splitters.stdout.flush(), ...splitters.stderr.flush());
  return lines;
}

/**
 * The container's last `count` log lines (stdout and stderr), for error
 * messages. Best effort: an engine that does not answer within `timeoutMs`, or
 * a container already gone, yields what could be read (possibly nothing).
 */
export async function lastLogLines(container: EngineContainer, count = 40, timeoutMs = 5_000): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    const buffer = await Promise.race([container.logs(count), timeout]);
    return buffer ? logLines(buffer).slice(-count) : [];
  } catch {
    return [];
  } finally {
    clearTimeout(timer);
  }
}
