import type { Engine } from '../engine/engine.js';
import { AirlockError } from '../errors.js';
import type { Cas } from '../store/cas.js';
import { busyboxFromDeb } from './busybox.js';
import type { BaseRecipe } from './catalog.js';
import { resolveDebianPackages } from './debian.js';
import { ensureDebs } from './debs.js';
import { buildBase, importRootfs } from './build.js';
import { diffPackages, readBaseLock, writeBaseLock, type BaseLockEntry, type LockedDeb } from './lock.js';
import { findDeb, newestDeb, resolveIndexes, type ResolvedIndexes } from './mirror.js';
import { sha256Digest } from '../util/digest.js';

export interface UpdateResult {
  ref: string;
  changed: boolean;
  rootfsDigest: string;
  packages: number;
  /** `apt list --upgradable`-style lines: + added, - removed, ~ changed (old -> new) */
  diff: string[];
  durationMs: number;
}

/** One index read per suite and architecture per update. */
export class IndexCache {
  #cache = new Map<string, Promise<ResolvedIndexes>>();
  get(suite: string, architecture: string, signal?: AbortSignal): Promise<ResolvedIndexes> {
    const key = `${suite}/${architecture}`;
    let idx = this.#cache.get(key);
    if (!idx) this.#cache.set(key, (idx = resolveIndexes(suite, architecture, signal)));
    return idx;
  }
}

/**
 * `airlock base update`: re-resolves each base against today's mirror (signed indexes, then
 * apt's own choice of packages through mmdebstrap), fetches the chosen .debs into the CAS by
 * sha256, builds the base from exactly those files, and rewrites its lock entry. The only
 * writer of base locks.
 */
export async function updateBases(
  engine: Engine,
  opts: { cas: Cas; recipes: readonly BaseRecipe[]; indexes?: IndexCache; signal?: AbortSignal; onProgress?: (message: string) => void },
): Promise<UpdateResult[]> {
  const say = opts.onProgress ?? (() => undefined);
  const indexes = opts.indexes ?? new IndexCache();
  const results: UpdateResult[] = [];
  for (const recipe of opts.recipes) {
    const started = performance.now();
    say(`resolving ${recipe.ref} against the ${recipe.suite} archives`);
    const idx = await indexes.get(recipe.suite, recipe.architecture, opts.signal);
    const packages = await resolvePackages(recipe, idx, say);
    await ensureDebs(opts.cas, packages, { lockFile: recipe.lockFile, ...(opts.signal ? { signal: opts.signal } : {}) });
    const binary = recipe.kind === 'busybox' ? sha256Digest(await busyboxFromDeb(opts.cas, packages[0]!)) : undefined;
    const built = await buildBase(opts.cas, recipe, { packages, ...(binary ? { binary } : {}) }, { say, ...(opts.signal ? { signal: opts.signal } : {}) });
    try {
      const common = { suite: recipe.suite, architecture: recipe.architecture, resolvedAt: idx.resolvedAt, indexes: idx.indexes, rootfsDigest: built.listing.digest, entries: built.listing.entries, listing: sha256Digest(built.listing.listing) };
      const entry: BaseLockEntry =
        recipe.kind === 'busybox'
          ? { kind: 'busybox', ...common, packages: [packages[0]!], binary: binary! }
          : { kind: 'debian', ...common, variant: 'minbase', include: [...recipe.include].sort(), sourceDateEpoch: recipe.sourceDateEpoch, packages };
      const lock = await readBaseLock(recipe.lockFile);
      const before = lock.bases[recipe.ref];
      const diff = diffPackages(recipe.ref, before, entry);
      const changed = !before || before.rootfsDigest !== entry.rootfsDigest || diff.length > 1;
      lock.bases[recipe.ref] = changed || !before ? entry : before;
      if (changed) await writeBaseLock(recipe.lockFile, lock);
      await importRootfs(engine, built.tarPath, recipe.ref, built.listing.digest);
      results.push({ ref: recipe.ref, changed, rootfsDigest: entry.rootfsDigest, packages: packages.length, diff, durationMs: Math.round(performance.now() - started) });
    } finally {
      await built.cleanup();
    }
  }
  return results;
}

async function resolvePackages(recipe: BaseRecipe, idx: ResolvedIndexes, say: (l: string) => void): Promise<LockedDeb[]> {
  if (recipe.kind === 'busybox') {
    const deb = newestDeb(idx, 'busybox-static');
    if (!deb) throw new AirlockError('BASE_RESOLVE_FAILED', `no busybox-static in the ${recipe.suite} archives`);
    const { depends: _, ...locked } = deb;
    return [locked];
  }
  const installed = await resolveDebianPackages(recipe, (l) => say(`  ${l}`));
  const missing: string[] = [];
  const debs: LockedDeb[] = [];
  for (const p of installed) {
    const deb = findDeb(idx, p.name, p.version, p.architecture);
    if (deb) debs.push(deb);
    else missing.push(`${p.name} ${p.version} (${p.architecture})`);
  }
  if (missing.length > 0) {
    throw new AirlockError('BASE_RESOLVE_FAILED', `apt installed packages the indexes read for the lock do not list (the mirror changed meanwhile? try again): ${missing.join(', ')}`, {
      details: { missing },
    });
  }
  return debs;
}
