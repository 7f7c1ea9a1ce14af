import { join } from 'node:path';
import { type Digest, digestHex } from '../util/digest.js';

/**
 * Where a CAS root keeps its bytes, in the OCI image-layout convention: one truth for the
 * store, verify, bundle readers and export.
 */
export function blobDir(root: string): string {
  return join(root, 'blobs', 'sha256');
}

/** `root/blobs/sha256/<hex>` */
export function blobPath(root: string, digest: Digest): string {
  return join(blobDir(root), digestHex(digest));
}
