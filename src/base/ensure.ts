import type { Engine } from '../engine/engine.js';
import { AirlockError } from '../errors.js';
import { isNotFound } from '../engine/client.js';
import { LABEL_ROOTFS } from '../engine/labels.js';
import type { Cas } from '../store/cas.js';
import type { Digest } from '../util/digest.js';
import { lockedBusyboxPath } from './busybox.js';
import { BUSYBOX_REF, builtinBases, type BaseRecipe } from './catalog.js';
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

async function labelledDigest(engine: Engine, ref: string): Promise<string | undefined> {
  try {
    return (await engine.images.inspect(ref)).Config?.Labels?.[LABEL_ROOTFS];
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
export async function ensureBases(engine: Engine, opts: EnsureBaseOptions): Promise<BaseResult[]> {
  const locks = new LockFiles();
  const say = opts.onProgress ?? (() => undefined);
  const results: BaseResult[] = [];
  for (const recipe of opts.recipes) {
    const started = performance.now();
    const entry = await locks.entry(recipe);
    if (!opts.force && (await labelledDigest(engine, recipe.ref)) === entry.rootfsDigest) {
      results.push({ ref: recipe.ref, outcome: 'present', rootfsDigest: entry.rootfsDigest, durationMs: Math.round(performance.now() - started) });
      continue;
    }
    // the build path (mmdebstrap, apt-ftparchive, downloads) loads only when a base must be built
    const { buildBase, importRootfs, mismatch } = await import('./build.js');
    const built = await buildBase(opts.cas, recipe, entry, { ...opts, say });
    try {
      if (built.listing.digest !== entry.rootfsDigest) throw await mismatch(opts.cas, recipe, entry, built.listing);
      say(`importing ${recipe.ref} (${built.listing.entries} entries, ${built.listing.digest})`);
      await importRootfs(engine, built.tarPath, recipe.ref, built.listing.digest);
    } finally {
      await built.cleanup();
    }
    results.push({ ref: recipe.ref, outcome: 'built', rootfsDigest: entry.rootfsDigest, durationMs: Math.round(performance.now() - started), fetched: built.fetched });
  }
  return results;
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
