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

/**
 * Why bytes differ. Each cause that a variation can provoke maps to the dimension
 * that proves it (see CAUSE_DIMENSION in attribution); `timestamp`, `random`,
 * `address` and `file-order` are inherent: they differ even when nothing is varied.
 */
export type CauseKind =
  | 'timestamp'
  | 'timezone'
  | 'hostname'
  | 'build-path'
  | 'username'
  | 'uid-gid'
  | 'umask'
  | 'locale'
  | 'locale-sort'
  | 'cpu-count'
  | 'env-order'
  | 'file-order'
  | 'random'
  | 'address'
  | 'unknown';

/** Every cause, strongest first: when one place shows several, the first named here is the cause and the others are `also`. */
export const CAUSE_RANK: readonly CauseKind[] = [
  'timestamp',
  'build-path',
  'hostname',
  'username',
  'uid-gid',
  'timezone',
  'locale',
  'umask',
  'cpu-count',
  'locale-sort',
  'env-order',
  'file-order',
  'address',
  'random',
  'unknown',
];

/** A cause's place in CAUSE_RANK (lower is stronger). */
export const causeRank = (c: CauseKind): number => CAUSE_RANK.indexOf(c);

export interface LikelyCause {
  cause: CauseKind;
  /** a short human sentence quoting the differing snippet */
  evidence: string;
  /** the format-level field that differs, when the format is known: `tar member mtime`, `ELF section .debug_line_str`, `gzip header mtime`, … */
  field?: string;
  /** other causes found in the same bytes, weaker than `cause` (a line with a date and a zone) */
  also?: CauseKind[];
}

export interface DiffEntry {
  path: string;
  /** what differs, in a fixed order (see DIFF_KINDS) */
  differs: DiffKind[];
  /** a unified diff of text content, bounded by `maxDiffLines` */
  unifiedDiff?: string;
  /** for archives (tar, cpio, ar, .deb, gzip, zip): the members that differ */
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
  /** NIS domain name ('' when unset) */
  domainname: string;
  buildPath: string;
  /** user name or numeric uid the steps ran as */
  user: string;
  /** numeric uid and gid, when known */
  uid?: number;
  gid?: number;
  /** LANG/LC_ALL ('' when unset) */
  locale: string;
  /** IANA name of the time zone ('UTC' by default) */
  tz: string;
  /** the TZ value the steps saw ('' when unset), e.g. '<+14>-14' */
  tzValue: string;
  /** the umask the steps started with, octal, e.g. '0022' */
  umask: string;
  /** CPUs the cell could use (what nproc prints) */
  cpus: number;
  /** environment variables were passed in reverse order */
  envReversed: boolean;
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
