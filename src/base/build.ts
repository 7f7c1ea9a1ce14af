import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../engine/engine.js';
import { isDockerInitPath, parseRootfsListing, rootfsListing, type RootfsListing } from '../archive/rootfs.js';
import { AirlockError } from '../errors.js';
import { readEngineMessages } from '../engine/json-stream.js';
import { LABEL_ROOTFS } from '../engine/labels.js';
import type { Cas } from '../store/cas.js';
import type { Digest } from '../util/digest.js';
import { lockedBusyboxPath, writeBusyboxRootfs } from './busybox.js';
import type { BaseRecipe } from './catalog.js';
import { buildDebianRootfs } from './debian.js';
import { ensureDebs } from './debs.js';
import type { BaseLockEntry } from './lock.js';

/** Building a base from its locked files: used by `ensureBases` when the engine lacks it, and by `updateBases`. */

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
export async function mismatch(cas: Cas, recipe: BaseRecipe, entry: BaseLockEntry, got: RootfsListing): Promise<AirlockError> {
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

/**
 * Imports a base's rootfs as `ref` (`repo:tag`), labelled with its rootfs digest. The whole
 * reference goes in `repo`: Docker splits a tag off it, and Podman (4.x) ignores the
 * separate `tag` parameter (the image would be `<repo>:latest`). The engine must then
 * answer for `ref` with the label, or the import failed.
 */
export async function importRootfs(engine: Engine, tarPath: string, ref: string, rootfsDigest: string): Promise<void> {
  const stream = await engine.images.import(createReadStream(tarPath), {
    repo: ref,
    changes: ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'CMD ["/bin/sh"]', `LABEL ${LABEL_ROOTFS}=${rootfsDigest}`],
  });
  let error: string | undefined;
  await readEngineMessages(stream, (m) => {
    if (m.error !== undefined) error = m.errorDetail?.message ?? m.error;
  });
  if (error !== undefined) throw new AirlockError('BASE_BUILD_FAILED', `importing ${ref} failed: ${error}`);
  const label = await engine.images
    .inspect(ref)
    .then((i) => i.Config?.Labels?.[LABEL_ROOTFS], () => undefined);
  if (label !== rootfsDigest) {
    throw new AirlockError('BASE_BUILD_FAILED', `importing ${ref} failed: the engine does not answer for ${ref} with label ${LABEL_ROOTFS}=${rootfsDigest} afterwards`, {
      details: { ref, label: label ?? null },
    });
  }
}

