import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from '../proof/manifest.js';
import { type Digest, digestHex, digestsEqual } from '../util/digest.js';
import { verifyError } from './fail.js';

/** `root/blobs/sha256/<hex>`: where a CAS root keeps a blob. */
export function blobPath(root: string, digest: Digest): string {
  return join(root, 'blobs', 'sha256', digestHex(digest));
}

/** The CAS roots to search, in order: the bundle's own dir when it carries blobs/, then the given ones. */
export async function blobRoots(bundleDir: string, blobDirs: readonly string[]): Promise<string[]> {
  const own = await stat(join(bundleDir, 'blobs')).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return [...(own ? [bundleDir] : []), ...blobDirs];
}

/**
 * Re-hashes every blob the manifest lists (outputs included), streaming, from the
 * first root that has it. A corrupt copy is reported, not skipped in favour of a
 * later root: the copy a reader would use is the one that must be right.
 * Returns how many distinct blobs were checked.
 */
export async function checkBlobs(manifest: Manifest, roots: readonly string[]): Promise<number> {
  const seen = new Set<string>();
  for (const blob of manifest.blobs) {
    if (seen.has(blob.digest)) continue;
    seen.add(blob.digest);
    const label = `${blob.digest} (role ${blob.role}, name ${blob.name})`;
    const facts = { digest: blob.digest, role: blob.role, name: blob.name };
    const found = await hashFirst(roots, blob.digest);
    if (!found) {
      const searched = roots.join(', ') || '(no blob dirs given)';
      throw verifyError('BLOB_MISSING', `blob ${label} is in none of: ${searched}`, label, searched, facts);
    }
    const at = `blob ${label} at ${found.path}`;
    if (!digestsEqual(found.digest, blob.digest)) {
      throw verifyError('BLOB_DIGEST_MISMATCH', `${at} hashes to ${found.digest}`, label, found.path, {
        ...facts,
        actual: found.digest,
      });
    }
    if (found.size !== blob.size) {
      throw verifyError('BLOB_DIGEST_MISMATCH', `${at} has ${found.size} bytes, the manifest says ${blob.size}`, label, found.path, {
        ...facts,
        expected: blob.size,
        actual: found.size,
      });
    }
  }
  return seen.size;
}

interface Hashed {
  path: string;
  digest: Digest;
  size: number;
}

async function hashFirst(roots: readonly string[], digest: Digest): Promise<Hashed | undefined> {
  for (const root of roots) {
    const path = blobPath(root, digest);
    const unreadable = (e: unknown) =>
      verifyError('BLOB_MISSING', `blob ${digest} at ${path} cannot be read (${(e as NodeJS.ErrnoException).code})`, digest, path);
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw unreadable(e);
    }
    try {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of handle.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
      }
      return { path, digest: `sha256:${hash.digest('hex')}`, size };
    } catch (e) {
      throw unreadable(e);
    } finally {
      await handle.close();
    }
  }
  return undefined;
}
