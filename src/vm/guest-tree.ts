import { ancestorsOf, compareBytes } from '../archive/paths.js';
import type { ImageEntry } from './image-spool.js';
import { AIRLOCK_DIR } from './image-spool.js';

/**
 * The guest root as a sorted list of nodes, independent of how it is written (cpio or
 * ext4). Pure: the same image entries and additions always give the same list.
 */

/** Every node's mtime (2000-01-01T00:00:00Z): fixed, so the root's digest depends on content only; after 1980 for zip. */
export const GUEST_MTIME = 946_684_800;

export type NodeSource =
  | { kind: 'spool'; offset: number; size: number }
  | { kind: 'host'; path: string; size: number }
  | { kind: 'bytes'; data: Buffer };

export interface GuestNode {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'char';
  mode: number;
  uid: number;
  gid: number;
  /** files: where the content comes from; absent for the data-less members of a hardlink group */
  source?: NodeSource;
  /** files: content length (the group's, for every member of a hardlink group) */
  size: number;
  target?: string;
  /** hardlink groups: every member carries the path of the first member (which carries the data) */
  linkGroup?: string;
  /** members in the group (1 when not hardlinked) */
  nlink: number;
  rdev?: [number, number];
}

/** A file airlock adds to the guest root. */
export interface Addition {
  path: string;
  type: 'file' | 'dir' | 'char';
  mode: number;
  source?: NodeSource;
  rdev?: [number, number];
}

export const sourceSize = (s: NodeSource): number => (s.kind === 'bytes' ? s.data.length : s.size);

/**
 * Merges the image's entries with airlock's additions (which replace anything at their
 * path; directories the image already has are kept as the image has them), creates
 * missing parent directories, resolves hardlink groups, and sorts by path in byte order
 * (so parents come before their children).
 */
export function guestTree(image: readonly ImageEntry[], additions: readonly Addition[]): GuestNode[] {
  const nodes = new Map<string, GuestNode>();
  for (const e of image) {
    if (e.type === 'hardlink') continue;
    nodes.set(e.path, {
      path: e.path,
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      size: e.size,
      nlink: 1,
      ...(e.type === 'file' ? { source: { kind: 'spool' as const, offset: e.offset, size: e.size } } : {}),
      ...(e.target !== undefined ? { target: e.target } : {}),
    });
  }
  // hardlinks: every member of a group becomes a file node; the byte-smallest carries the data
  const groups = new Map<string, string[]>();
  for (const e of image) {
    if (e.type !== 'hardlink') continue;
    const file = nodes.get(e.target!);
    if (file?.type !== 'file') continue;
    const g = groups.get(file.path) ?? [file.path];
    g.push(e.path);
    groups.set(file.path, g);
  }
  for (const [filePath, members] of groups) {
    const file = nodes.get(filePath)!;
    const sorted = [...members].sort(compareBytes);
    const first = sorted[0]!;
    for (const m of sorted) {
      const node: GuestNode = { ...file, path: m, linkGroup: first, nlink: sorted.length };
      if (m !== first) delete node.source;
      else node.source = file.source!;
      nodes.set(m, node);
    }
  }
  for (const a of additions) {
    const existing = nodes.get(a.path);
    if (a.type === 'dir' && existing !== undefined && (existing.type === 'dir' || existing.type === 'symlink')) continue;
    if (existing?.linkGroup !== undefined) throw new Error(`cannot replace hardlinked ${a.path}`);
    nodes.set(a.path, {
      path: a.path,
      type: a.type,
      mode: a.mode,
      uid: 0,
      gid: 0,
      size: a.source ? sourceSize(a.source) : 0,
      nlink: 1,
      ...(a.source ? { source: a.source } : {}),
      ...(a.rdev ? { rdev: a.rdev } : {}),
    });
  }
  for (const path of [...nodes.keys()]) {
    for (const parent of ancestorsOf(path)) {
      if (!nodes.has(parent)) nodes.set(parent, { path: parent, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, nlink: 1 });
    }
  }
  return [...nodes.values()].sort((a, b) => compareBytes(a.path, b.path));
}

/** The directories every guest root has, so init can mount on them even under a read-only disk. */
export function baseDirs(): Addition[] {
  return [
    { path: AIRLOCK_DIR, type: 'dir', mode: 0o755 },
    { path: 'dev', type: 'dir', mode: 0o755 },
    { path: 'proc', type: 'dir', mode: 0o555 },
    { path: 'sys', type: 'dir', mode: 0o555 },
    { path: 'tmp', type: 'dir', mode: 0o1777 },
  ];
}

/** Content bytes of a tree (hardlinked content once). */
export function treeContentBytes(nodes: readonly GuestNode[]): number {
  return nodes.reduce((t, n) => t + (n.source ? sourceSize(n.source) : 0), 0);
}
