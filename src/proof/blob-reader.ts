import { readFile } from 'node:fs/promises';
import { AirlockError } from '../errors.js';
import type { Cas } from '../store/cas.js';
import { blobPath } from '../store/layout.js';
import type { Digest } from '../util/digest.js';

export interface BlobRef {
  digest: Digest;
  size: number;
}

/** Where one side's bytes are: a CAS, or a bundle's blobs/ and CAS roots. */
export interface BlobReader {
  read(digest: Digest): Promise<Buffer>;
}

export function casReader(cas: Cas): BlobReader {
  return { read: (d) => cas.readBytes(d) };
}

/** Reads `<root>/blobs/sha256/<hex>` from the first root that has it. */
export function rootsReader(roots: readonly string[]): BlobReader {
  return {
    async read(d) {
      for (const root of roots) {
        const path = blobPath(root, d);
        const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return undefined;
          throw e;
        });
        if (bytes !== undefined) return bytes;
      }
      throw new AirlockError('BLOB_MISSING', `blob ${d} is in none of: ${roots.join(', ')}`, { details: { digest: d, roots } });
    },
  };
}
