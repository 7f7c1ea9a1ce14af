import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

import type { Digest } from '../util/digest.js';
import type { NodeSource } from './guest-tree.js';

/** A file airlock wrote, by digest. */
export interface FileFact {
  path: string;
  sha256: Digest;
  size: number;
}

/** Streams a node's content (from the spool, a host file, or memory). */
export async function* nodeContent(source: NodeSource, spool: fs.FileHandle): AsyncGenerator<Buffer> {
  if (source.kind === 'bytes') {
    yield source.data;
    return;
  }
  const fh = source.kind === 'spool' ? spool : await fs.open(source.path, 'r');
  const start = source.kind === 'spool' ? source.offset : 0;
  try {
    let done = 0;
    while (done < source.size) {
      const want = Math.min(1024 * 1024, source.size - done);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, start + done);
      if (bytesRead === 0) throw new Error(`${source.kind === 'host' ? source.path : 'the image spool'} is shorter than expected`);
      done += bytesRead;
      yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    if (source.kind === 'host') await fh.close();
  }
}

/** Writes a byte stream to `dest` (optionally gzipped), hashing what lands on disk. */
export async function writeHashed(src: AsyncIterable<Buffer>, dest: string, gzip: boolean): Promise<FileFact> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  await pipeline(src, gzip ? createGzip({ level: 6 }) : new PassThrough(), tap, createWriteStream(dest, { mode: 0o644 }));
  return { path: dest, sha256: `sha256:${hash.digest('hex')}`, size };
}

/** sha256 of a whole file. */
export async function hashFile(path: string): Promise<FileFact> {
  const hash = createHash('sha256');
  let size = 0;
  const fh = await fs.open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { path, sha256: `sha256:${hash.digest('hex')}`, size };
}
