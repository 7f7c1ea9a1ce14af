import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

import { AirlockError } from '../errors.js';
import { GUEST_MTIME, type GuestNode } from './guest-tree.js';
import { hashFile, nodeContent, type FileFact } from './files.js';

/** Fixed, so the same tree gives the same disk bytes (mke2fs would pick random ones). */
const FS_UUID = '6f9a1c3e-a1c0-4c1d-8b1e-a1a1a1a1a1a1';
const BLOCK = 4096;
const INODE_SIZE = 256;

/**
 * Writes the tree as an ext4 image with `mke2fs -d` (no mounting, no loop devices): the
 * tree is first laid out in a staging directory (owners need root), then mke2fs copies it
 * with a fixed UUID, hash seed and clock. mke2fs copies each file's ctime, which cannot
 * be set on the host, so debugfs then rewrites every inode's times to GUEST_MTIME.
 */
export async function writeExt4(tree: readonly GuestNode[], spoolPath: string, dest: string, workDir: string): Promise<FileFact> {
  if (process.getuid?.() !== 0) {
    throw new AirlockError('ENGINE_ERROR', 'ext4 guest roots are staged on the host with their owners, which needs root; use the initramfs guest root', {
      details: { uid: process.getuid?.() },
    });
  }
  const stage = join(workDir, 'ext4-stage');
  await fs.rm(stage, { recursive: true, force: true });
  await fs.mkdir(stage, { mode: 0o755 });
  try {
    const inodes = await stageTree(tree, spoolPath, stage);
    const blocks = diskBlocks(tree);
    await fs.rm(dest, { force: true });
    const env = { LC_ALL: 'C', E2FSPROGS_FAKE_TIME: String(GUEST_MTIME) };
    await run('mke2fs', [
      '-q', '-F', '-t', 'ext4', '-b', String(BLOCK), '-I', String(INODE_SIZE), '-N', String(inodes + 1024), '-m', '0',
      '-U', FS_UUID, '-L', 'airlock-root',
      '-E', `hash_seed=${FS_UUID},root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0,nodiscard`,
      '-d', stage, dest, String(blocks),
    ], env);
    // inode 2 is the root, 11 lost+found, then one per created node in mke2fs's (sorted) walk
    const cmds: string[] = [];
    for (const ino of [2, ...range(11, 12 + inodes)]) {
      for (const field of ['ctime', 'atime', 'mtime', 'crtime']) cmds.push(`sif <${ino}> ${field} @${GUEST_MTIME}`);
    }
    const cmdFile = join(workDir, 'ext4-times.debugfs');
    await fs.writeFile(cmdFile, `${cmds.join('\n')}\n`);
    await run('debugfs', ['-w', '-f', cmdFile, dest], env);
    return await hashFile(dest);
  } finally {
    await fs.rm(stage, { recursive: true, force: true });
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/** Files written at once while staging (libuv's thread pool runs 4 by default; more keeps it busy). */
const STAGE_CONCURRENCY = 16;

/** Lays the tree out under `stage`; returns how many inodes it holds (hardlinks share one). */
async function stageTree(tree: readonly GuestNode[], spoolPath: string, stage: string): Promise<number> {
  const spool = await fs.open(spoolPath, 'r');
  const dirs = tree.filter((n) => n.type === 'dir');
  const leaves = tree.filter((n) => n.type !== 'dir' && !(n.linkGroup !== undefined && n.linkGroup !== n.path));
  const links = tree.filter((n) => n.linkGroup !== undefined && n.linkGroup !== n.path);
  try {
    // directories first (sorted: parents before children), so the leaves can go in parallel
    for (const d of dirs) await fs.mkdir(join(stage, d.path), { mode: 0o700 });
    await pool(leaves, STAGE_CONCURRENCY, async (n) => {
      const p = join(stage, n.path);
      switch (n.type) {
        case 'symlink':
          await fs.symlink(n.target ?? '', p);
          await fs.lchown(p, n.uid, n.gid);
          await fs.lutimes(p, GUEST_MTIME, GUEST_MTIME);
          break;
        case 'char':
          throw new AirlockError('INTERNAL', `device node ${n.path} cannot go into an ext4 guest root`);
        case 'file':
          await writeFile(p, n, spool);
          break;
        case 'dir':
          break;
      }
    });
    for (const n of links) await fs.link(join(stage, n.linkGroup!), join(stage, n.path));
    // deepest first and last, so a read-only directory does not block its own contents
    for (const d of [...dirs].reverse()) {
      const p = join(stage, d.path);
      await fs.chown(p, d.uid, d.gid);
      await fs.chmod(p, d.mode);
      await fs.utimes(p, GUEST_MTIME, GUEST_MTIME);
    }
  } finally {
    await spool.close();
  }
  return dirs.length + leaves.length;
}

async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

async function writeFile(p: string, n: GuestNode, spool: fs.FileHandle): Promise<void> {
  const fh = await fs.open(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    if (n.source) for await (const chunk of nodeContent(n.source, spool)) await fh.write(chunk);
    // chown clears setuid bits, so the mode comes after it
    await fh.chown(n.uid, n.gid);
    await fh.chmod(n.mode);
    await fh.utimes(GUEST_MTIME, GUEST_MTIME);
  } finally {
    await fh.close();
  }
}

/** Data blocks plus room for metadata, the journal and a little writing (mount points, snapshot writes). */
function diskBlocks(tree: readonly GuestNode[]): number {
  let data = 0;
  for (const n of tree) {
    if (n.type === 'file' && n.source) data += Math.ceil(n.size / BLOCK);
    else data += 1;
  }
  const inodeTable = Math.ceil(((tree.length + 1024) * INODE_SIZE) / BLOCK);
  return Math.ceil(data * 1.1) + inodeTable + (96 * 1024 * 1024) / BLOCK;
}

async function run(cmd: string, args: string[], env: Record<string, string>): Promise<void> {
  const r = await execa(cmd, args, { env, reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0 || (cmd === 'debugfs' && /error|not found|invalid/i.test(r.stderr.replace(/^debugfs [^\n]*\n/, '')))) {
    throw new AirlockError('ENGINE_ERROR', `${cmd} failed while making the ext4 guest root (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().slice(-2000)}`, {
      details: { cmd, args, exitCode: r.exitCode },
    });
  }
}
