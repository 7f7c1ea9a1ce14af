import type { CauseKind, LikelyCause } from './types.js';

/**
 * What usually fixes each cause, short and concrete. A cause found in a known
 * field gets the fix for that format first (gzip's header wants `gzip -n`, not
 * a lecture on clocks); the cause's general fix follows.
 */
const BY_CAUSE: Record<CauseKind, string | undefined> = {
  timestamp: 'take the time from SOURCE_DATE_EPOCH instead of the clock (date -d @$SOURCE_DATE_EPOCH, touch -d @$SOURCE_DATE_EPOCH)',
  timezone: 'build with TZ=UTC, or print times with date -u',
  hostname: 'do not embed the machine name (uname -n, $HOSTNAME, /proc/sys/kernel/domainname)',
  'build-path': 'build in a fixed directory, or map it away (-ffile-prefix-map=$PWD=., --remap-path-prefix)',
  username: 'do not embed the building user (whoami, $USER); archive with --owner=0 --group=0 --numeric-owner',
  'uid-gid': 'do not record the building uid/gid: tar --owner=0 --group=0 --numeric-owner, cpio -R 0:0',
  umask: 'set umask 022 first, or set modes explicitly (chmod, install -m, tar --mode=go-w)',
  locale: 'build with LC_ALL=C (or C.UTF-8) so messages and formats do not follow the caller',
  'locale-sort': 'sort with LC_ALL=C sort so the order does not depend on the locale',
  'cpu-count': 'fix the parallelism (make -j4, not -j$(nproc)) and do not embed the CPU count',
  'env-order': 'print named variables, or sort the environment (env | LC_ALL=C sort)',
  'file-order': 'sort directory listings and archive members (find | LC_ALL=C sort, tar --sort=name)',
  random: 'derive per-build values from the inputs or SOURCE_DATE_EPOCH (PYTHONHASHSEED=0, -frandom-seed=<file>, a fixed RNG seed)',
  address: 'do not print pointers or /proc/self/maps; print offsets or stable ids instead (setarch -R only hides it)',
  unknown: undefined,
};

/** Fixes for a cause in one format's field, matched on the field's name. */
const BY_FIELD: { field: RegExp; cause?: CauseKind; hint: string }[] = [
  { field: /^gzip header mtime/, hint: 'gzip -n (or gzip --no-name) leaves the time and name out of the header' },
  { field: /^gzip header name/, hint: 'gzip -n (or compress from stdin) leaves the file name out of the header' },
  { field: /^tar member mtime/, hint: 'tar --sort=name --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime' },
  { field: /^tar member (owner|uid|gid)/, hint: 'tar --owner=0 --group=0 --numeric-owner' },
  { field: /^tar member mode/, hint: "tar --mode=go-w (or umask 022 before creating the files)" },
  { field: /^cpio member mtime/, hint: 'touch -d @$SOURCE_DATE_EPOCH every file, then cpio --reproducible (GNU cpio) with a sorted file list' },
  { field: /^cpio member (owner|uid|gid)/, hint: 'cpio -R 0:0 --reproducible' },
  { field: /^ar member mtime/, hint: 'ar rcD (deterministic mode: zero mtimes, uids and modes), or build with binutils configured --enable-deterministic-archives' },
  { field: /^zip member mtime/, hint: 'touch -d @$SOURCE_DATE_EPOCH every file and zip -X (no extra fields), or strip-nondeterminism' },
  { field: /^ELF .*(\.debug|comp_dir)/, cause: 'build-path', hint: 'compile with -ffile-prefix-map=$PWD=. (or -fdebug-prefix-map)' },
  { field: /^ELF .*\.rodata/, cause: 'timestamp', hint: 'export SOURCE_DATE_EPOCH: gcc takes __DATE__ and __TIME__ from it' },
  { field: /^ELF .*build-id/, hint: 'the build-id is a hash of the rest: fix what else differs and it follows' },
];

/** The fix to show for a cause found (with its field, when the format is known). */
export function hintFor(cause: LikelyCause | CauseKind): string | undefined {
  const c = typeof cause === 'string' ? { cause, evidence: '' } : cause;
  const field = c.field === undefined ? undefined : BY_FIELD.find((f) => f.field.test(c.field!) && (f.cause === undefined || f.cause === c.cause));
  return field?.hint ?? BY_CAUSE[c.cause];
}
