import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { AirlockError } from '../errors.js';
import { isDigest } from '../util/digest.js';

const SourceSchema = z.looseObject({ kind: z.string(), packages: z.record(z.string(), z.string()) });

export const BaseLockSchema = z.object({
  lockVersion: z.literal(1),
  images: z.record(
    z.string(),
    z.object({
      rootfsDigest: z.string().refine(isDigest, 'expected sha256:<hex>'),
      entries: z.number().int().nonnegative(),
      source: SourceSchema,
    }),
  ),
});
export type BaseLock = z.infer<typeof BaseLockSchema>;
export type BaseLockEntry = BaseLock['images'][string];

export const BASE_LOCK_FILE = 'base-images.lock.json';

export async function readBaseLock(file: string): Promise<BaseLock> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { lockVersion: 1, images: {} };
    throw e;
  }
  const parsed = BaseLockSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new AirlockError('BASE_LOCK_MISMATCH', `${file} is not a valid base-image lock: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

export async function writeBaseLock(file: string, lock: BaseLock): Promise<void> {
  const sorted = { lockVersion: 1, images: Object.fromEntries(Object.entries(lock.images).sort(([a], [b]) => (a < b ? -1 : 1))) };
  await writeFile(`${file}.tmp`, `${JSON.stringify(sorted, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

/**
 * A human diff between a pinned base and a rebuilt one: the digest, then which
 * packages were added, removed or changed version: the usual reason they differ.
 */
export function diffBaseLock(ref: string, pinned: BaseLockEntry, rebuilt: BaseLockEntry): string[] {
  const lines: string[] = [];
  if (pinned.rootfsDigest !== rebuilt.rootfsDigest) lines.push(`${ref}: rootfs ${pinned.rootfsDigest} (locked) != ${rebuilt.rootfsDigest} (rebuilt)`);
  const a = pinned.source.packages;
  const b = rebuilt.source.packages;
  for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (!(name in b)) lines.push(`  - ${name} ${a[name]} (only in lock)`);
    else if (!(name in a)) lines.push(`  + ${name} ${b[name]} (only in rebuild)`);
    else if (a[name] !== b[name]) lines.push(`  ~ ${name} ${a[name]} -> ${b[name]}`);
  }
  for (const key of Object.keys({ ...pinned.source, ...rebuilt.source })) {
    if (key === 'packages') continue;
    const x = JSON.stringify(pinned.source[key]);
    const y = JSON.stringify(rebuilt.source[key]);
    if (x !== y) lines.push(`  ~ source.${key} ${x} -> ${y}`);
  }
  return lines;
}

