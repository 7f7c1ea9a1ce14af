import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { isDockerInitPath, parseRootfsListing, rootfsListing, type RootfsListing } from '../archive/rootfs.js';
import { AirlockError } from '../errors.js';
import { isNotFound } from '../engine/client.js';
import { readEngineMessages } from '../engine/json-stream.js';
import { LABEL_ROOTFS } from '../engine/labels.js';
import type { Cas } from '../store/cas.js';
import type { Digest } from '../util/digest.js';
import { lockedBusyboxPath, writeBusyboxRootfs } from './busybox.js';
import { BUSYBOX_REF, builtinBases, type BaseRecipe } from './catalog.js';
import { buildDebianRootfs } from './debian.js';
import { ensureDebs } from './debs.js';
import { readBaseLock, type BaseLock, type BaseLockEntry, type BusyboxBaseLock } from './lock.js';

export interface EnsureBaseOptions {
  /** where the locked .debs are kept (and fetched into) */
  cas: Cas;
  recipes: readonly BaseRecipe[];
  /** never touch the network: every locked .deb must be in the CAS */
  offline?: boolean;
  /** rebuild even when an image matching the lock is present */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

export type BaseOutcome = 'present' | 'built';

export interface BaseResult {
  ref: string;
  outcome: BaseOutcome;
  rootfsDigest: string;
  durationMs: number;
  /** .debs downloaded for this build (0 when all were in the CAS) */
  fetched?: { files: number; bytes: number };
}

/** Reads each lock file once per call. */
export class LockFiles {
  #locks = new Map<string, Promise<BaseLock>>();
  read(file: string): Promise<BaseLock> {
    let lock = this.#locks.get(file);
    if (!lock) this.#locks.set(file, (lock = readBaseLock(file)));
    return lock;
  }
  /** The lock entry of `recipe`, checked to describe the same base (else the spec changed: update). */
  async entry(recipe: BaseRecipe): Promise<BaseLockEntry> {
    const entry = (await this.read(recipe.lockFile)).bases[recipe.ref];
    if (!entry) {
      throw new AirlockError('BASE_LOCK_MISMATCH', `${recipe.ref} is not locked in ${recipe.lockFile}; run \`airlock base update --only ${recipe.ref}\` to resolve and lock it`, {
        details: { ref: recipe.ref, lock: recipe.lockFile },
      });
    }
    const drift = recipeDrift(recipe, entry);
    if (drift.length > 0) {
      throw new AirlockError('BASE_LOCK_MISMATCH', `${recipe.ref} is declared differently than ${recipe.lockFile} locked it (${drift.join('; ')}); run \`airlock base update --only ${recipe.ref}\``, {
        details: { ref: recipe.ref, lock: recipe.lockFile, drift },
      });
    }
    return entry;
  }
}

/** What differs between how a base is declared now and how its lock entry was resolved. */
export function recipeDrift(recipe: BaseRecipe, entry: BaseLockEntry): string[] {
  const drift: string[] = [];
  if (recipe.kind !== entry.kind) return [`kind ${entry.kind} -> ${recipe.kind}`];
  if (recipe.suite !== entry.suite) drift.push(`suite ${entry.suite} -> ${recipe.suite}`);
  if (recipe.architecture !== entry.architecture) drift.push(`architecture ${entry.architecture} -> ${recipe.architecture}`);
  if (recipe.kind === 'debian' && entry.kind === 'debian') {
    const want = [...recipe.include].sort().join(',');
    const have = [...entry.include].sort().join(',');
    if (want !== have) drift.push(`packages [${have}] -> [${want}]`);
    if (recipe.sourceDateEpoch !== entry.sourceDateEpoch) drift.push(`sourceDateEpoch ${entry.sourceDateEpoch} -> ${recipe.sourceDateEpoch}`);
  }
  return drift;
}

async function labelledDigest(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Config?.Labels?.[LABEL_ROOTFS];
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * Makes every base present in the engine exactly as its lock says. An image whose label
 * carries the locked rootfs digest is trusted as is (fast path); otherwise the base is built
 * from the locked .debs (from the CAS, else their mirror URL, verified by sha256) and must
 * measure to the locked digest: a difference is a hard error naming the first differing
 * paths, never a re-pin. Never writes a lock.
 */
export async function ensureBases(docker: Docker, opts: EnsureBaseOptions): Promise<BaseResult[]> {
  const locks = new LockFiles();
  const say = opts.onProgress ?? (() => undefined);
  const results: BaseResult[] = [];
  for (const recipe of opts.recipes) {
    const started = performance.now();
    const entry = await locks.entry(recipe);
    if (!opts.force && (await labelledDigest(docker, recipe.ref)) === entry.rootfsDigest) {
      results.push({ ref: recipe.ref, outcome: 'present', rootfsDigest: entry.rootfsDigest, durationMs: Math.round(performance.now() - started) });
      continue;
    }
    const built = await buildBase(opts.cas, recipe, entry, { ...opts, say });
    try {
      if (built.listing.digest !== entry.rootfsDigest) throw await mismatch(opts.cas, recipe, entry, built.listing);
      say(`importing ${recipe.ref} (${built.listing.entries} entries, ${built.listing.digest})`);
      await importRootfs(docker, built.tarPath, recipe.ref, built.listing.digest);
    } finally {
      await built.cleanup();
    }
    results.push({ ref: recipe.ref, outcome: 'built', rootfsDigest: entry.rootfsDigest, durationMs: Math.round(performance.now() - started), fetched: built.fetched });
  }
  return results;
}

export interface BuiltRootfs {
  tarPath: string;
  listing: RootfsListing;
  fetched: { files: number; bytes: number };
  cleanup: () => Promise<void>;
}

/**
 * A base's rootfs tar built from the locked files only, measured, its listing kept in the
 * CAS. The caller compares (ensure) or records (update) the digest and calls `cleanup`.
 */
export async function buildBase(
  cas: Cas,
  recipe: BaseRecipe,
  entry: Pick<BaseLockEntry, 'packages'> & { binary?: Digest | string },
  opts: { offline?: boolean; signal?: AbortSignal; say: (l: string) => void },
): Promise<BuiltRootfs> {
  const { fetched, bytes } = await ensureDebs(cas, entry.packages, {
    lockFile: recipe.lockFile,
    ...(opts.offline ? { offline: true } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onProgress: (e) => {
      if (e.kind === 'done' && e.source === 'network') opts.say(`fetched ${e.name} (${e.size} bytes)`);
    },
  });
  opts.say(`building ${recipe.ref} from ${entry.packages.length} locked package(s)${fetched ? ` (${fetched} fetched, ${bytes} bytes)` : ''}`);
  const work = await mkdtemp(join(tmpdir(), 'airlock-base-'));
  const cleanup = () => rm(work, { recursive: true, force: true });
  try {
    const tarPath = join(work, 'rootfs.tar');
    if (recipe.kind === 'busybox') {
      const [deb] = entry.packages;
      await writeBusyboxRootfs(await lockedBusyboxPath(cas, deb!, entry.binary as Digest), tarPath);
    } else {
      await buildDebianRootfs(cas, recipe, entry.packages, tarPath, (l) => opts.say(`  ${l}`));
    }
    const listing = await rootfsListing(createReadStream(tarPath), { exclude: isDockerInitPath });
    await cas.put(listing.listing);
    return { tarPath, listing, fetched: { files: fetched, bytes }, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** BASE_LOCK_MISMATCH naming the first paths that differ from the locked listing (when the CAS has it). */
async function mismatch(cas: Cas, recipe: BaseRecipe, entry: BaseLockEntry, got: RootfsListing): Promise<AirlockError> {
  let paths: string[] = [];
  if (await cas.has(entry.listing as Digest)) paths = firstDifferingPaths((await cas.readBytes(entry.listing as Digest)).toString('utf8'), got.listing.toString('utf8'));
  const shown = paths.length > 0 ? `; first differing paths:\n  ${paths.join('\n  ')}` : ' (the locked listing is not in this CAS, so paths cannot be named)';
  return new AirlockError(
    'BASE_LOCK_MISMATCH',
    `${recipe.ref} built from its locked packages measures ${got.digest}, ${recipe.lockFile} says ${entry.rootfsDigest}${shown}\n` +
      `The packages are the locked files (checked by sha256), so the build itself differs (host tools, mmdebstrap version); the lock is left as it is.`,
    { details: { ref: recipe.ref, locked: entry.rootfsDigest, built: got.digest, paths } },
  );
}

/** Up to `max` paths added, removed or changed between two rootfs listings. */
export function firstDifferingPaths(locked: string, built: string, max = 10): string[] {
  const index = (text: string) => new Map(parseRootfsListing(text).map((r) => [r.path, JSON.stringify(r)]));
  const a = index(locked);
  const b = index(built);
  const out: string[] = [];
  for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (out.length >= max) break;
    if (!b.has(path)) out.push(`- ${path} (only in the lock)`);
    else if (!a.has(path)) out.push(`+ ${path} (only in the build)`);
    else if (a.get(path) !== b.get(path)) out.push(`~ ${path}`);
  }
  return out;
}

export async function importRootfs(docker: Docker, tarPath: string, ref: string, rootfsDigest: string): Promise<void> {
  const [repo, tag] = [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)];
  const stream = (await docker.importImage(createReadStream(tarPath), {
    repo,
    tag,
    changes: ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'CMD ["/bin/sh"]', `LABEL ${LABEL_ROOTFS}=${rootfsDigest}`],
  } as object)) as unknown as Readable;
  let error: string | undefined;
  await readEngineMessages(stream, (m) => {
    if (m.error !== undefined) error = m.errorDetail?.message ?? m.error;
  });
  if (error !== undefined) throw new AirlockError('BASE_BUILD_FAILED', `importing ${ref} failed: ${error}`);
}

/**
 * The locked static busybox every cell mounts as its helper (and VM guests carry): from the
 * built-in busybox base's lock entry, its .deb fetched into `cas` when missing.
 */
export async function lockedHelper(cas: Cas, opts: { offline?: boolean; signal?: AbortSignal } = {}): Promise<{ path: string; deb: BusyboxBaseLock['packages'][0]; binary: Digest }> {
  const recipe = builtinBases().find((b) => b.ref === BUSYBOX_REF)!;
  const entry = await new LockFiles().entry(recipe);
  if (entry.kind !== 'busybox') throw new AirlockError('BASE_LOCK_INVALID', `${recipe.lockFile}: ${BUSYBOX_REF} is not a busybox entry`);
  const [deb] = entry.packages;
  await ensureDebs(cas, [deb], { lockFile: recipe.lockFile, ...opts });
  return { path: await lockedBusyboxPath(cas, deb, entry.binary as Digest), deb, binary: entry.binary as Digest };
}
