import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../proof/atomic-write.js';
import type { Digest } from '../util/digest.js';

/**
 * Facts derived from a file (its sha256, what a binary says its version is), remembered in
 * a stamp file for as long as the file's identity holds: device, inode, size, and the
 * modification and change times in nanoseconds. Bytes cannot change without changing one of
 * them (ctime is set by the kernel on every write, chmod or rename and cannot be set back
 * from user space), so a fact read from the stamp is the fact of those bytes: the same rule
 * make and git's index rely on. Each VM cell re-derived them before (re-hashing the locked
 * kernel and modules, ~110 ms; spawning `qemu --version`, ~85 ms; issue 12).
 *
 * A missing, unreadable or foreign stamp only means deriving again. Concurrent writers may
 * lose each other's entries (last rename wins), never corrupt them.
 */
export async function fileIdentity(path: string): Promise<string> {
  const s = await fs.stat(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

type Stamps = Record<string, { identity: string; value: string }>;

async function readStamps(stampFile: string): Promise<Stamps> {
  try {
    const parsed: unknown = JSON.parse(await fs.readFile(stampFile, 'utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Stamps) : {};
  } catch {
    return {};
  }
}

/** `derive(path)` as of the file's current identity: from `stampFile` when it was derived for that identity, else derived and stamped. */
export async function rememberedFact(stampFile: string, fact: string, path: string, derive: (path: string) => Promise<string>): Promise<string> {
  const key = `${fact}:${path}`;
  const before = await fileIdentity(path);
  const stamps = await readStamps(stampFile);
  const hit = stamps[key];
  if (hit && hit.identity === before && typeof hit.value === 'string') return hit.value;
  const value = await derive(path);
  // stamped only when the file did not change while it was read
  if ((await fileIdentity(path)) === before) {
    await fs.mkdir(dirname(stampFile), { recursive: true });
    await writeFileAtomic(stampFile, `${JSON.stringify({ ...(await readStamps(stampFile)), [key]: { identity: before, value } })}\n`).catch(() => undefined);
  }
  return value;
}

/** sha256 of a file's bytes, read in full. */
export async function hashFile(path: string): Promise<Digest> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** A file's sha256, hashed again only when its identity changed since `stampFile` recorded it. */
export function rememberedSha256(stampFile: string, path: string): Promise<Digest> {
  return rememberedFact(stampFile, 'sha256', path, hashFile) as Promise<Digest>;
}
