import type { Digest } from '../util/digest.js';

/** One path of one side of a comparison: an output tree, a rootfs listing or an archive's members. */
export interface FileSide {
  /** normalized, `/`-separated, relative */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  /** permission bits (with setuid/setgid/sticky); the file-type bits are ignored */
  mode?: number;
  uid?: number;
  gid?: number;
  /** owner names, as tar and zip record them beside the ids */
  uname?: string;
  gname?: string;
  size?: number;
  /** modification time, whole seconds since the epoch (as rootfs listings record it) */
  mtime?: number;
  digest?: Digest;
  /** symlink: link text; hardlink: linked path */
  target?: string;
  /** the content, for files: needed when digests are unknown, for diffs, hints and archive members */
  read?: () => Promise<Buffer>;
}

export type DiffKind = 'content' | 'size' | 'mode' | 'owner' | 'mtime' | 'type' | 'target' | 'only-in-a' | 'only-in-b';

export type CauseKind = 'timestamp' | 'hostname' | 'build-path' | 'username' | 'locale-sort' | 'random' | 'file-order' | 'unknown';

export interface LikelyCause {
  cause: CauseKind;
  /** a short human sentence quoting the differing snippet */
  evidence: string;
}

export interface DiffEntry {
  path: string;
  /** what differs, in a fixed order (see DIFF_KINDS) */
  differs: DiffKind[];
  /** a unified diff of text content, bounded by `maxDiffLines` */
  unifiedDiff?: string;
  /** for archives (tar, tar.gz, gzip, zip): the members that differ */
  members?: DiffEntry[];
  likelyCause?: LikelyCause;
  /** what was not looked into, and why (too large, too deep, unsupported archive feature) */
  note?: string;
}

/** What is known about the run that made one side; `runs[0]` made side a and `runs[1]` side b, when known. */
export interface RunFacts {
  startedAt: Date;
  finishedAt: Date;
  hostname: string;
  buildPath: string;
  user: string;
  locale: string;
  tz: string;
}

export interface DiffContext {
  runs: RunFacts[];
}

export interface DiffOptions {
  /** compare mtimes of top-level entries (archive members' mtimes are always compared). Default false. */
  strictMtime?: boolean;
  /** lines of unified diff kept per file. Default 200. */
  maxDiffLines?: number;
  /** how many archive levels to open (a tar.gz inside a zip is depth 2). Default 3. */
  maxDepth?: number;
  /** files larger than this are compared but not diffed, analysed or opened. Default 64 MiB. */
  maxReadBytes?: number;
}

/** The order `differs` lists its kinds in. */
export const DIFF_KINDS: readonly DiffKind[] = ['only-in-a', 'only-in-b', 'type', 'content', 'size', 'target', 'mode', 'owner', 'mtime'];
