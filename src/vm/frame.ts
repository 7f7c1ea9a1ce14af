import { crc32 } from 'node:zlib';

/**
 * The wire format between airlock-init (in the guest) and the host, on a virtio-serial
 * port that nothing else in the guest can open:
 *
 *   magic "ALKF" | type u8 | stream u8 | index u16 BE | length u32 BE | payload | crc32 u32 BE
 *
 * The crc (IEEE, as zlib) covers everything after the magic, payload included. A step's
 * bytes only ever travel inside payloads and the decoder never searches for a magic, so
 * a step printing something that looks like a frame only adds payload bytes to its own
 * stdout. There is no resynchronisation: a bad frame ends the session (resyncing by
 * scanning for the magic is exactly what would let payload bytes pass as frames).
 * The C side is src/vm/init/airlock-init.c; keep both in step.
 */
export const FRAME_MAGIC = Buffer.from('ALKF', 'latin1');
export const FRAME_HEADER_BYTES = 12;
export const FRAME_TRAILER_BYTES = 4;
/** Largest payload either side accepts (the guest sends at most 64 KiB per frame). */
export const MAX_FRAME_PAYLOAD = 4 * 1024 * 1024;

export const FrameType = {
  /** guest: init is up; payload `airlock-init/<n> <kernel release>` */
  HELLO: 1,
  /** guest: step `index` starts */
  STEP_START: 2,
  /** guest: bytes of step `index`, stream 1 = stdout, 2 = stderr */
  STEP_DATA: 3,
  /** guest: step `index` ended; payload i32 exit code, u8 timed out, u32 duration ms (BE) */
  STEP_END: 4,
  /** guest: tar bytes of output `index` */
  OUTPUT_DATA: 5,
  /** guest: output `index` done; payload i32 tar status, then tar's stderr (UTF-8) */
  OUTPUT_END: 6,
  /** guest: init failed; payload a message (UTF-8); the guest powers off next */
  ERROR: 7,
  /** guest: everything was sent; the guest powers off next */
  DONE: 8,
  /** host: the plan (see plan.ts), sent once when the guest connects */
  PLAN: 16,
  /**
   * host: DONE (or ERROR) and everything before it arrived. The guest waits for it before
   * powering off: QEMU drops what it still buffers when the guest stops, and under
   * backpressure that can be the tail of the report.
   */
  ACK: 17,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

export const Stream = { STDOUT: 1, STDERR: 2 } as const;

export interface Frame {
  type: number;
  stream: number;
  index: number;
  payload: Buffer;
}

export function encodeFrame(f: { type: number; stream?: number; index?: number; payload?: Uint8Array }): Buffer {
  const payload = f.payload ?? Buffer.alloc(0);
  if (payload.byteLength > MAX_FRAME_PAYLOAD) throw new RangeError(`frame payload of ${payload.byteLength} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
  const out = Buffer.alloc(FRAME_HEADER_BYTES + payload.byteLength + FRAME_TRAILER_BYTES);
  FRAME_MAGIC.copy(out, 0);
  out.writeUInt8(f.type, 4);
  out.writeUInt8(f.stream ?? 0, 5);
  out.writeUInt16BE(f.index ?? 0, 6);
  out.writeUInt32BE(payload.byteLength, 8);
  Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).copy(out, FRAME_HEADER_BYTES);
  const end = FRAME_HEADER_BYTES + payload.byteLength;
  out.writeUInt32BE(crc32(out.subarray(4, end)), end);
  return out;
}

export class FrameError extends Error {
  constructor(
    message: string,
    /** byte offset in the stream where the bad frame starts */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

/**
 * Incremental decoder: `push` bytes as they arrive, get the complete frames back. After
 * the first error every later `push` throws too: a broken stream stays broken.
 */
export class FrameDecoder {
  /** bytes received and not yet part of a returned frame */
  #pending: Buffer = Buffer.alloc(0);
  /** stream offset of #pending[0] */
  #offset = 0;
  #failed: FrameError | undefined;

  push(chunk: Uint8Array): Frame[] {
    if (this.#failed) throw this.#failed;
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      const buf = this.#pending;
      if (buf.length < FRAME_HEADER_BYTES) {
        // a wrong magic is reported as soon as its bytes are in, not only once a header is complete
        const n = Math.min(buf.length, FRAME_MAGIC.length);
        if (!FRAME_MAGIC.subarray(0, n).equals(buf.subarray(0, n))) this.#fail('bad magic');
        break;
      }
      if (!buf.subarray(0, 4).equals(FRAME_MAGIC)) this.#fail('bad magic');
      const len = buf.readUInt32BE(8);
      if (len > MAX_FRAME_PAYLOAD) this.#fail(`payload length ${len} exceeds ${MAX_FRAME_PAYLOAD}`);
      const total = FRAME_HEADER_BYTES + len + FRAME_TRAILER_BYTES;
      if (buf.length < total) break;
      const end = FRAME_HEADER_BYTES + len;
      if (crc32(buf.subarray(4, end)) !== buf.readUInt32BE(end)) this.#fail('crc mismatch');
      frames.push({
        type: buf.readUInt8(4),
        stream: buf.readUInt8(5),
        index: buf.readUInt16BE(6),
        payload: Buffer.from(buf.subarray(FRAME_HEADER_BYTES, end)),
      });
      this.#pending = buf.subarray(total);
      this.#offset += total;
    }
    return frames;
  }

  /** Bytes of an incomplete frame still waiting (non-zero at end of stream means it was truncated). */
  get pendingBytes(): number {
    return this.#pending.length;
  }

  #fail(reason: string): never {
    this.#failed = new FrameError(`malformed frame at byte ${this.#offset}: ${reason}`, this.#offset);
    throw this.#failed;
  }
}

export function encodeStepEnd(r: { exitCode: number; timedOut: boolean; durationMs: number }): Buffer {
  const b = Buffer.alloc(9);
  b.writeInt32BE(r.exitCode, 0);
  b.writeUInt8(r.timedOut ? 1 : 0, 4);
  b.writeUInt32BE(r.durationMs, 5);
  return b;
}

export function decodeStepEnd(p: Buffer): { exitCode: number; timedOut: boolean; durationMs: number } {
  if (p.length !== 9) throw new FrameError(`STEP_END payload is ${p.length} bytes, expected 9`, -1);
  return { exitCode: p.readInt32BE(0), timedOut: p.readUInt8(4) === 1, durationMs: p.readUInt32BE(5) };
}

export function decodeOutputEnd(p: Buffer): { status: number; message: string } {
  if (p.length < 4) throw new FrameError(`OUTPUT_END payload is ${p.length} bytes, expected at least 4`, -1);
  return { status: p.readInt32BE(0), message: p.subarray(4).toString('utf8') };
}
