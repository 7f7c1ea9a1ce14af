import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import type { Digest } from '../util/digest.js';
import { cpioDataPad, cpioEntryHead, cpioTrailer } from './cpio.js';
import { writeExt4 } from './ext4.js';
import { nodeContent, writeHashed, type FileFact } from './files.js';
import { AIRLOCK_DIR, spoolImage } from './image-spool.js';
import { baseDirs, GUEST_MTIME, guestTree, treeContentBytes, type Addition, type GuestNode, type NodeSource } from './guest-tree.js';
import type { GuestModule } from './kernel.js';

export type { FileFact } from './files.js';

export type GuestRootKind = 'initramfs' | 'ext4';

/** Images with more content than this get an ext4 disk instead of an initramfs. */
export const EXT4_THRESHOLD_BYTES = 256 * 1024 * 1024;
/**
 * An initramfs lives in guest RAM twice while it unpacks (the archive and the files), so
 * content above memory / INITRAMFS_MEMORY_FACTOR goes to ext4 even below the threshold.
 */
const INITRAMFS_MEMORY_FACTOR = 3;

export interface GuestRootRequest {
  rootfs: Readable;
  /** static busybox, placed at /.airlock/busybox */
  helper: string;
  /** static airlock-init, placed at /.airlock/init */
  init: string;
  modules: readonly GuestModule[];
  /** scratch; the guest root files are written here */
  workDir: string;
  kind?: 'auto' | GuestRootKind;
  /** guest memory: with `auto`, decides with EXT4_THRESHOLD_BYTES */
  memoryBytes: number;
  /** gzip the initramfs (default false: under TCG the guest's gunzip costs more than reading the plain archive) */
  gzip?: boolean;
  signal?: AbortSignal;
}


export interface GuestRoot {
  kind: GuestRootKind;
  /** what identifies the root: the initramfs, or the ext4 disk */
  path: string;
  sha256: Digest;
  size: number;
  buildMs: number;
  /** the initramfs QEMU boots (for ext4 roots a small one holding init and modules only) */
  initrd: FileFact;
  /** ext4 roots: the disk, attached with snapshot=on */
  disk?: FileFact;
  entries: number;
  contentBytes: number;
}

/** Path of init inside every initramfs (the image's own /init, if any, is left alone). */
export const GUEST_INIT = `/${AIRLOCK_DIR}/init`;

/**
 * Builds the guest root from an image tar: the image's checked entries plus airlock's
 * helper, init and modules, sorted, owners kept, every mtime GUEST_MTIME, so the same
 * image always gives the same bytes (and digest).
 */
export async function buildGuestRoot(req: GuestRootRequest): Promise<GuestRoot> {
  const started = performance.now();
  const spool = await spoolImage(req.rootfs, join(req.workDir, 'image.spool'), req.signal);
  try {
    const hostFile = async (path: string): Promise<NodeSource> => ({ kind: 'host', path, size: (await fs.stat(path)).size });
    const helper: Addition = { path: `${AIRLOCK_DIR}/busybox`, type: 'file', mode: 0o755, source: await hostFile(req.helper) };
    const boot: Addition[] = [
      { path: 'dev/console', type: 'char', mode: 0o600, rdev: [5, 1] },
      { path: `${AIRLOCK_DIR}/init`, type: 'file', mode: 0o755, source: await hostFile(req.init) },
      { path: `${AIRLOCK_DIR}/modules`, type: 'dir', mode: 0o755 },
    ];
    for (const [i, m] of req.modules.entries()) {
      boot.push({ path: `${AIRLOCK_DIR}/modules/${String(i).padStart(2, '0')}-${m.name}.ko`, type: 'file', mode: 0o644, source: await hostFile(m.path) });
    }

    const content = spool.contentBytes;
    const kind: GuestRootKind =
      req.kind === 'initramfs' || req.kind === 'ext4'
        ? req.kind
        : content > EXT4_THRESHOLD_BYTES || content * INITRAMFS_MEMORY_FACTOR > req.memoryBytes
          ? 'ext4'
          : 'initramfs';
    const spoolPath = spool.spoolPath;
    const gzip = req.gzip ?? false;

    if (kind === 'initramfs') {
      const tree = guestTree(spool.entries, [...baseDirs(), helper, ...boot]);
      const initrd = await writeCpio(tree, spoolPath, join(req.workDir, gzip ? 'root.cpio.gz' : 'root.cpio'), gzip);
      return { kind, ...initrd, buildMs: ms(started), initrd, entries: tree.length, contentBytes: treeContentBytes(tree) };
    }
    const tree = guestTree(spool.entries, [...baseDirs(), helper]);
    const disk = await writeExt4(tree, spoolPath, join(req.workDir, 'root.ext4'), req.workDir);
    const small = guestTree([], [...baseDirs(), ...boot, { path: `${AIRLOCK_DIR}/root`, type: 'dir', mode: 0o755 }, rootdiskMark()]);
    const initrd = await writeCpio(small, spoolPath, join(req.workDir, gzip ? 'boot.cpio.gz' : 'boot.cpio'), gzip);
    return { kind, ...disk, buildMs: ms(started), initrd, disk, entries: tree.length, contentBytes: treeContentBytes(tree) };
  } finally {
    await fs.rm(spool.spoolPath, { force: true });
  }
}

const ms = (t: number): number => Math.round(performance.now() - t);

function rootdiskMark(): Addition {
  return { path: `${AIRLOCK_DIR}/rootdisk`, type: 'file', mode: 0o644, source: { kind: 'bytes', data: Buffer.from('vda\n') } };
}

export async function writeCpio(tree: readonly GuestNode[], spoolPath: string, dest: string, gzip: boolean): Promise<FileFact> {
  const spool = await fs.open(spoolPath, 'r');
  const inodes = new Map<string, number>();
  async function* archive(): AsyncGenerator<Buffer> {
    for (const [i, n] of tree.entries()) {
      const ino = n.linkGroup !== undefined ? (inodes.get(n.linkGroup) ?? i + 1) : i + 1;
      if (n.linkGroup !== undefined) inodes.set(n.linkGroup, ino);
      const size = n.type === 'file' && n.source ? n.size : 0;
      yield cpioEntryHead({
        path: n.path,
        type: n.type,
        mode: n.mode,
        uid: n.uid,
        gid: n.gid,
        mtime: GUEST_MTIME,
        ino,
        nlink: n.type === 'dir' ? 2 : n.nlink,
        size,
        ...(n.target !== undefined ? { target: n.target } : {}),
        ...(n.rdev ? { rdevMajor: n.rdev[0], rdevMinor: n.rdev[1] } : {}),
      });
      if (n.type === 'file' && n.source) {
        yield* nodeContent(n.source, spool);
        yield cpioDataPad(size);
      }
    }
    yield cpioTrailer();
  }
  try {
    return await writeHashed(archive(), dest, gzip);
  } finally {
    await spool.close();
  }
}

