import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../proof/atomic-write.js';
import { DigestSchema } from '../proof/digest-schema.js';
import { canonicalJson } from '../proof/canonical-json.js';
import type { Cas } from '../store/cas.js';
import { readBounded } from '../util/bounded-read.js';
import type { Digest } from '../util/digest.js';
import { hashFile, rememberedSha256 } from './file-stamp.js';
import type { GuestRoot, GuestRootKind } from './guest-root.js';
import type { GuestModule } from './kernel.js';

/**
 * Guest roots kept in the CAS. A guest root is a pure function of the image's
 * normalized rootfs digest, the helper, airlock-init, the kernel modules and
 * the root's kind (GUEST_MTIME, sorted entries: same inputs, same bytes), so it
 * is built once: its files go into the CAS and a small index names them under
 * the hash of those inputs. A hit skips exporting the image and building the
 * root; QEMU reads the CAS files directly (the disk is attached snapshot=on,
 * so the guest's writes never reach it).
 */

/** Bumped when the guest root layout changes, so older roots are not reused. */
const ROOT_FORMAT = 1;
const INDEX_MAX_BYTES = 64 * 1024;

export interface RootKeyInputs {
  rootfsDigest: Digest;
  helper: string;
  init: string;
  modules: readonly GuestModule[];
  /** what was asked: `auto` decides from the content and the memory, so the memory is part of the key then */
  kind: 'auto' | GuestRootKind;
  memoryBytes: number;
  gzip: boolean;
  /** stamp file remembering the helper's and init's digests (default: hashed every time) */
  stamps?: string;
}

const FileRefSchema = z.object({ sha256: DigestSchema, size: z.int().nonnegative() });
const IndexSchema = z.object({
  format: z.literal(ROOT_FORMAT),
  kind: z.enum(['initramfs', 'ext4']),
  initrd: FileRefSchema,
  disk: FileRefSchema.optional(),
  entries: z.int().nonnegative(),
  contentBytes: z.int().nonnegative(),
});

/** sha256 of a key input, from `stamps` while the file's identity holds (file-stamp.ts). */
const fileSha256 = (path: string, stamps: string | undefined) => (stamps ? rememberedSha256(stamps, path) : hashFile(path));

/** The cache key: sha256 of the canonical JSON of every input's digest. */
export async function rootKey(k: RootKeyInputs): Promise<string> {
  const inputs = {
    format: ROOT_FORMAT,
    rootfs: k.rootfsDigest,
    helper: await fileSha256(k.helper, k.stamps),
    init: await fileSha256(k.init, k.stamps),
    modules: k.modules.map((m) => ({ name: m.name, sha256: m.sha256 })),
    kind: k.kind,
    ...(k.kind === 'auto' ? { memoryBytes: k.memoryBytes } : {}),
    gzip: k.gzip,
  };
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex');
}

const indexPath = (dir: string, key: string) => join(dir, `${key}.json`);

/** The kept root for `key`, its files in the CAS; undefined when none is kept or a file has gone. */
export async function findRoot(cas: Cas, dir: string, key: string): Promise<GuestRoot | undefined> {
  let index: z.infer<typeof IndexSchema>;
  try {
    const bytes = await readBounded(indexPath(dir, key), INDEX_MAX_BYTES, (p) => new Error(p.message));
    index = IndexSchema.parse(JSON.parse(bytes.toString('utf8')));
  } catch {
    // absent, unreadable or not ours: build the root again (and overwrite the index)
    return undefined;
  }
  const refs = [index.initrd, ...(index.disk ? [index.disk] : [])];
  for (const r of refs) if (!(await cas.has(r.sha256))) return undefined;
  const fact = (r: z.infer<typeof FileRefSchema>) => ({ path: cas.pathOf(r.sha256), sha256: r.sha256, size: r.size });
  const initrd = fact(index.initrd);
  const disk = index.disk ? fact(index.disk) : undefined;
  const identity = disk ?? initrd;
  return {
    kind: index.kind,
    path: identity.path,
    sha256: identity.sha256,
    size: identity.size,
    buildMs: 0,
    initrd,
    ...(disk ? { disk } : {}),
    entries: index.entries,
    contentBytes: index.contentBytes,
  };
}

/** Keeps a freshly built root: its files into the CAS, then the index (written last, atomically). */
export async function keepRoot(cas: Cas, dir: string, key: string, root: GuestRoot): Promise<void> {
  const initrd = await cas.putFile(root.initrd.path);
  const disk = root.disk ? await cas.putFile(root.disk.path) : undefined;
  const index: z.infer<typeof IndexSchema> = {
    format: ROOT_FORMAT,
    kind: root.kind,
    initrd: { sha256: initrd.digest, size: initrd.size },
    ...(disk ? { disk: { sha256: disk.digest, size: disk.size } } : {}),
    entries: root.entries,
    contentBytes: root.contentBytes,
  };
  await writeFileAtomic(indexPath(dir, key), `${JSON.stringify(index)}\n`);
}
