import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isAirlockError } from '../errors.js';
import type { Manifest, ManifestBlob } from '../proof/manifest.js';
import { openRegular, type FileProblem } from '../util/bounded-read.js';
import { blobPath } from '../store/layout.js';
import { type Digest, digestsEqual } from '../util/digest.js';
import { verifyError } from './fail.js';


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
 * later root: the copy a reader would use is the one that must be right. Only
 * regular files are read, and never more bytes than the manifest gives the blob.
 * Returns how many distinct blobs were checked.
 */
export async function checkBlobs(manifest: Manifest, roots: readonly string[]): Promise<number> {
  const seen = new Set<string>();
  for (const blob of manifest.blobs) {
    if (seen.has(blob.digest)) continue;
    seen.add(blob.digest);
    const label = `${blob.digest} (role ${blob.role}, name ${blob.name})`;
    const facts = { digest: blob.digest, role: blob.role, name: blob.name };
    const found = await hashFirst(roots, blob, label, facts);
    if (!found) {
      const searched = roots.join(', ') || '(no blob dirs given)';
      throw verifyError('BLOB_MISSING', `blob ${label} is in none of: ${searched}`, label, searched, facts);
    }
    if (!digestsEqual(found.digest, blob.digest)) {
      throw verifyError('BLOB_DIGEST_MISMATCH', `blob ${label} at ${found.path} hashes to ${found.digest}`, label, found.path, {
        ...facts,
        actual: found.digest,
      });
    }
  }
  return seen.size;
}

/** This root has no such blob; the next one is tried. */
class NotInRoot extends Error {}

interface Hashed {
  path: string;
  digest: Digest;
}

async function hashFirst(roots: readonly string[], blob: ManifestBlob, label: string, facts: Record<string, unknown>): Promise<Hashed | undefined> {
  for (const root of roots) {
    const path = blobPath(root, blob.digest);
    const fail = (p: FileProblem) =>
      p.kind === 'missing'
        ? new NotInRoot(p.message)
        : p.kind === 'unreadable'
          ? verifyError('BLOB_MISSING', `blob ${label}: ${p.message}`, label, path, facts)
          : verifyError('BLOB_UNSAFE', `blob ${label}: ${p.message}`, label, path, { ...facts, kind: p.kind });
    let opened;
    try {
      opened = await openRegular(path, fail);
    } catch (e) {
      if (e instanceof NotInRoot) continue;
      throw e;
    }
    const { handle, stats } = opened;
    try {
      // The size is known before a byte is read: a blob of another size is refused, not hashed.
      if (stats.size !== blob.size) {
        throw verifyError('BLOB_DIGEST_MISMATCH', `blob ${label} at ${path} has ${stats.size} bytes, the manifest says ${blob.size}`, label, path, {
          ...facts,
          expected: blob.size,
          actual: stats.size,
        });
      }
      const hash = createHash('sha256');
      if (blob.size > 0) {
        for await (const chunk of handle.createReadStream({ autoClose: false, start: 0, end: blob.size - 1 }) as AsyncIterable<Buffer>) hash.update(chunk);
      }
      return { path, digest: `sha256:${hash.digest('hex')}` };
    } catch (e) {
      if (isAirlockError(e)) throw e;
      throw fail({ kind: 'unreadable', message: `${path} cannot be read (${(e as NodeJS.ErrnoException).code})` });
    } finally {
      await handle.close();
    }
  }
  return undefined;
}
