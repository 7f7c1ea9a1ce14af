import { PassThrough } from 'node:stream';
import type { BlobRef, Cas } from '../store/cas.js';
import { MATCH_LIMIT_BYTES, type StreamText } from './expect.js';

export interface Capture {
  /** where the producer writes; ending it finishes the blob */
  sink: PassThrough;
  /** the stored blob, plus its text when small enough to match against */
  done: Promise<StreamText & BlobRef>;
}

/**
 * Streams one of a step's outputs into the CAS, keeping at most MATCH_LIMIT_BYTES
 * in memory for expectations: a step printing gigabytes is stored, not held.
 */
export function captureToCas(cas: Cas, signal?: AbortSignal): Capture {
  const sink = new PassThrough();
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let overflow = false;
  sink.on('data', (chunk: Buffer) => {
    if (overflow) return;
    keptBytes += chunk.length;
    if (keptBytes > MATCH_LIMIT_BYTES) {
      overflow = true;
      kept.length = 0;
    } else kept.push(chunk);
  });
  const done = cas.put(sink, signal ? { signal } : {}).then((ref) => ({
    ...ref,
    text: overflow ? undefined : Buffer.concat(kept).toString('utf8'),
  }));
  // Rejections surface where `done` is awaited, after the step ends; until then
  // one handler keeps Node from treating an abort mid-step as unhandled.
  done.catch(() => undefined);
  return { sink, done };
}
