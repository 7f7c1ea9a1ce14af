import { Readable } from 'node:stream';
import { pack, type Header } from 'tar-stream';

/** One hand-written tar entry for tests: a header (name required) and, for files, content. */
export interface TarSpec extends Partial<Header> {
  name: string;
  content?: string | Uint8Array;
}

/** Builds an uncompressed tar in memory, entries in the given order (mtime defaults to 0). */
export async function makeTar(entries: readonly TarSpec[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(Buffer.from(c as Uint8Array));
  })();
  for (const { content, ...header } of entries) {
    const h = { mtime: new Date(0), mode: header.type === 'directory' ? 0o755 : 0o644, ...header };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      p.entry(h, content ?? '', cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function tarStream(buf: Buffer): Readable {
  return Readable.from([buf]);
}
