import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { AirlockError } from '../errors.js';
import { writeFileAtomic } from '../proof/atomic-write.js';
import { isDigest } from '../util/digest.js';

/**
 * `locks/base-images.lock.json`: every base is a pure function of its entry. The entry
 * names each Debian package *file* by sha256 (as the Packages index of the mirror said when
 * it was resolved, and verified on every download), the indexes it was resolved from, and
 * the normalized rootfs digest the build from exactly those files must give. Only
 * `airlock base update` writes it.
 */
export const BASE_LOCK_FILE = 'base-images.lock.json';
export const BASE_LOCK_VERSION = 2;

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
export const DigestSchema = z.string().refine(isDigest, 'expected sha256:<64 hex digits>');

/** One .deb: what apt's Packages index says of it. */
export const LockedDebSchema = z.strictObject({
  name: z.string().min(1),
  version: z.string().min(1),
  architecture: z.string().min(1),
  /** pool path of the archive, e.g. `pool/main/b/bash/bash_5.2.15-2+b2_amd64.deb` */
  filename: z.string().regex(/^pool\/[^\s]+\.deb$/, 'expected a pool/…/.deb path'),
  size: z.number().int().nonnegative(),
  sha256: Hex64,
  /** where it was fetched from: the archive root + filename */
  url: z.url({ protocol: /^https?$/ }),
});
export type LockedDeb = z.infer<typeof LockedDebSchema>;

/** An index a resolution read: the signed InRelease and the Packages file it vouches for. */
export const LockedIndexSchema = z.strictObject({
  /** the InRelease URL */
  release: z.url({ protocol: /^https?$/ }),
  releaseSha256: Hex64,
  /** path of the Packages file relative to the suite's dists/ folder, as listed in InRelease */
  packages: z.string().min(1),
  packagesSha256: Hex64,
});
export type LockedIndex = z.infer<typeof LockedIndexSchema>;

/** What every resolution records: where, when, from which indexes. */
const ResolutionFields = {
  suite: z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a Debian suite name such as bookworm'),
  architecture: z.string().regex(/^[a-z0-9]+$/),
  /** ISO 8601, when `airlock base update` read the indexes */
  resolvedAt: z.iso.datetime(),
  indexes: z.array(LockedIndexSchema).min(1),
};

const BuiltFields = {
  /** the normalized rootfs digest a build from exactly these files gives */
  rootfsDigest: DigestSchema,
  entries: z.number().int().nonnegative(),
  /** the rootfs listing behind rootfsDigest, kept in the CAS, so a mismatch can name paths */
  listing: DigestSchema,
};

export const DebianBaseLockSchema = z.strictObject({
  kind: z.literal('debian'),
  ...ResolutionFields,
  variant: z.literal('minbase'),
  /** packages asked for beyond the essential set (their dependencies are in `packages`) */
  include: z.array(z.string().min(1)),
  sourceDateEpoch: z.number().int().nonnegative(),
  packages: z.array(LockedDebSchema).min(1),
  ...BuiltFields,
});

export const BusyboxBaseLockSchema = z.strictObject({
  kind: z.literal('busybox'),
  ...ResolutionFields,
  /** exactly busybox-static */
  packages: z.tuple([LockedDebSchema]),
  /** sha256 of /bin/busybox inside the .deb: the base's only program and every cell's helper */
  binary: DigestSchema,
  ...BuiltFields,
});

export const BaseLockEntrySchema = z.discriminatedUnion('kind', [DebianBaseLockSchema, BusyboxBaseLockSchema]);
export type BaseLockEntry = z.infer<typeof BaseLockEntrySchema>;
export type DebianBaseLock = z.infer<typeof DebianBaseLockSchema>;
export type BusyboxBaseLock = z.infer<typeof BusyboxBaseLockSchema>;

export const BaseLockSchema = z.strictObject({
  lockVersion: z.literal(BASE_LOCK_VERSION),
  /** image reference → entry */
  bases: z.record(z.string().min(1), BaseLockEntrySchema),
});
export type BaseLock = z.infer<typeof BaseLockSchema>;

/** At most this much lock is read: a lock of a few hundred packages is ~100 KB. */
const MAX_LOCK_BYTES = 16 * 1024 * 1024;

/**
 * Reads a lock file (absent = empty). Every problem is listed with its JSON path;
 * a lock of the previous format says how to get the new one.
 */
export async function readLockFile<T>(file: string, schema: z.ZodType<T>, empty: T, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw new AirlockError('BASE_LOCK_INVALID', `cannot read ${file}: ${(e as Error).message}`, { cause: e, details: { file } });
  }
  if (text.length > MAX_LOCK_BYTES) throw new AirlockError('BASE_LOCK_INVALID', `${file} is larger than ${MAX_LOCK_BYTES} bytes`, { details: { file } });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AirlockError('BASE_LOCK_INVALID', `${file} is not JSON: ${(e as Error).message}`, { cause: e, details: { file } });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    const version = (json as { lockVersion?: unknown } | null)?.lockVersion;
    const hint = typeof version === 'number' && version < BASE_LOCK_VERSION ? ` (format ${version}: run \`airlock base update\` to write format ${BASE_LOCK_VERSION})` : '';
    throw new AirlockError('BASE_LOCK_INVALID', `${file} is not a valid ${what}${hint}:\n  ${problems.join('\n  ')}`, { details: { file, problems } });
  }
  return parsed.data;
}

export function readBaseLock(file: string): Promise<BaseLock> {
  return readLockFile(file, BaseLockSchema, { lockVersion: BASE_LOCK_VERSION, bases: {} }, 'base-image lock');
}

/** Only `airlock base update` calls this. Keys sorted, so a lock's diff shows only what changed. */
export async function writeBaseLock(file: string, lock: BaseLock): Promise<void> {
  const sorted: BaseLock = { lockVersion: BASE_LOCK_VERSION, bases: Object.fromEntries(Object.entries(lock.bases).sort(([a], [b]) => (a < b ? -1 : 1))) };
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(sorted, null, 2)}\n`);
}

/**
 * What an update changed, like `apt list --upgradable`: packages added, removed and
 * changed (old → new version), then the new digest.
 */
export function diffPackages(ref: string, before: { packages: readonly LockedDeb[]; rootfsDigest?: string } | undefined, after: { packages: readonly LockedDeb[]; rootfsDigest?: string }): string[] {
  const a = new Map((before?.packages ?? []).map((p) => [p.name, p]));
  const b = new Map(after.packages.map((p) => [p.name, p]));
  const lines: string[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(name);
    const y = b.get(name);
    if (!y) lines.push(`  - ${name} ${x!.version}`);
    else if (!x) lines.push(`  + ${name} ${y.version}`);
    else if (x.version !== y.version) lines.push(`  ~ ${name} ${x.version} -> ${y.version}`);
    else if (x.sha256 !== y.sha256) lines.push(`  ~ ${name} ${x.version}: file sha256 ${x.sha256.slice(0, 12)} -> ${y.sha256.slice(0, 12)}`);
  }
  const head = !before
    ? `${ref}: new, ${after.packages.length} packages`
    : lines.length === 0 && before.rootfsDigest === after.rootfsDigest
      ? `${ref}: unchanged`
      : `${ref}: ${lines.length} package change(s)`;
  const digest = after.rootfsDigest && before?.rootfsDigest !== after.rootfsDigest ? [`  rootfs ${before?.rootfsDigest ?? '(none)'} -> ${after.rootfsDigest}`] : [];
  return [head, ...lines, ...digest];
}
