import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { isDockerInitPath, rootfsListing } from '../archive/rootfs.js';
import { AirlockError } from '../errors.js';
import { isNotFound } from '../engine/client.js';
import { readEngineMessages } from '../engine/json-stream.js';
import { LABEL_ROOTFS } from '../engine/labels.js';
import { writeBusyboxRootfs } from './busybox.js';
import { BASE_IMAGES, type BaseRecipe } from './catalog.js';
import { writeDebianRootfs } from './debian.js';
import { BASE_LOCK_FILE, diffBaseLock, readBaseLock, writeBaseLock, type BaseLockEntry } from './lock.js';

export interface EnsureBaseOptions {
  locksDir: string;
  /** fail instead of updating the lock when a rebuilt base differs from it */
  frozen?: boolean;
  /** rebuild even when an image matching the lock is present */
  force?: boolean;
  /** only these refs (default: all) */
  only?: string[];
  onProgress?: (message: string) => void;
}

export type BaseOutcome = 'present' | 'built' | 'built-lock-updated' | 'built-lock-added';

export interface BaseResult {
  ref: string;
  outcome: BaseOutcome;
  rootfsDigest: string;
  durationMs: number;
  /** when the lock was updated: what changed */
  diff?: string[];
}

async function labelledDigest(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Config?.Labels?.[LABEL_ROOTFS];
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function makeRootfs(recipe: BaseRecipe, tarPath: string, onLine: (l: string) => void) {
  return recipe.kind === 'busybox' ? writeBusyboxRootfs(tarPath) : writeDebianRootfs(tarPath, recipe.debian, onLine);
}

async function importRootfs(docker: Docker, tarPath: string, ref: string, rootfsDigest: string): Promise<void> {
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
 * Makes every base image present and matching `locks/base-images.lock.json`.
 * Fast when nothing changed: an image whose label carries the locked digest is
 * trusted as is. A rebuilt base that differs from its lock updates the lock
 * (and says what changed), or, with `frozen`, fails with that diff.
 */
export async function ensureBaseImages(docker: Docker, opts: EnsureBaseOptions): Promise<BaseResult[]> {
  const lockFile = join(opts.locksDir, BASE_LOCK_FILE);
  const lock = await readBaseLock(lockFile);
  const say = opts.onProgress ?? (() => undefined);
  const results: BaseResult[] = [];
  const recipes = BASE_IMAGES.filter((b) => !opts.only || opts.only.includes(b.ref));

  for (const recipe of recipes) {
    const started = performance.now();
    const pinned = lock.images[recipe.ref];
    const present = await labelledDigest(docker, recipe.ref);
    if (!opts.force && pinned && present === pinned.rootfsDigest) {
      results.push({ ref: recipe.ref, outcome: 'present', rootfsDigest: present, durationMs: Math.round(performance.now() - started) });
      continue;
    }
    if (opts.frozen && !pinned) {
      throw new AirlockError('BASE_LOCK_MISMATCH', `${recipe.ref} is not pinned in ${lockFile}; run \`airlock base\` without --frozen to pin it`);
    }
    say(`building ${recipe.ref}`);
    const work = await mkdtemp(join(tmpdir(), 'airlock-base-'));
    try {
      const tarPath = join(work, 'rootfs.tar');
      const source = await makeRootfs(recipe, tarPath, (l) => say(`  ${l}`));
      const measured = await rootfsListing(createReadStream(tarPath), { exclude: isDockerInitPath });
      const rebuilt: BaseLockEntry = { rootfsDigest: measured.digest, entries: measured.entries, source };
      let outcome: BaseOutcome = 'built';
      let diff: string[] | undefined;
      if (pinned && pinned.rootfsDigest !== rebuilt.rootfsDigest) {
        diff = diffBaseLock(recipe.ref, pinned, rebuilt);
        if (opts.frozen) {
          throw new AirlockError('BASE_LOCK_MISMATCH', `rebuilt ${recipe.ref} does not match ${lockFile} (--frozen):\n${diff.join('\n')}`, {
            details: { ref: recipe.ref, locked: pinned.rootfsDigest, rebuilt: rebuilt.rootfsDigest, diff },
          });
        }
        outcome = 'built-lock-updated';
      } else if (!pinned) {
        outcome = 'built-lock-added';
      }
      say(`importing ${recipe.ref} (${measured.entries} entries, ${measured.digest})`);
      await importRootfs(docker, tarPath, recipe.ref, measured.digest);
      if (outcome !== 'built') {
        lock.images[recipe.ref] = rebuilt;
        await writeBaseLock(lockFile, lock);
      }
      results.push({ ref: recipe.ref, outcome, rootfsDigest: measured.digest, durationMs: Math.round(performance.now() - started), ...(diff ? { diff } : {}) });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  return results;
}
