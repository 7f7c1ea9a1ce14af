import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AirlockError, isAirlockError } from '../errors.js';
import type { FetchProgress } from '../fetch/types.js';
import { Cas } from '../store/cas.js';
import type { Digest } from '../util/digest.js';
import { sharedCasDirs } from './catalog.js';
import type { LockedDeb } from './lock.js';
import { requirePackage } from './host-tools.js';

export interface EnsureDebsOptions {
  /** never touch the network: every .deb must already be in the CAS */
  offline?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: FetchProgress) => void;
  /** names the lock in messages */
  lockFile: string;
  /** other CAS roots to copy a missing file from, checked by its sha256 (default: sharedCasDirs()) */
  keepers?: readonly string[];
}

export const debDigest = (d: LockedDeb): Digest => `sha256:${d.sha256}`;
const debKey = (d: LockedDeb): string => `${d.name}_${d.version}_${d.architecture}`;

/**
 * Makes every locked .deb present in the CAS under its sha256: found there, or downloaded
 * from the URL it was resolved from and kept only when it hashes to the lock's sha256 (a wrong
 * file is refused and nothing is stored). A .deb that is neither in the CAS nor (any more) on
 * the mirror is BASE_LOCK_UNSATISFIED, naming the packages and the two ways out.
 */
export async function ensureDebs(cas: Cas, debs: readonly LockedDeb[], opts: EnsureDebsOptions): Promise<{ fetched: number; bytes: number }> {
  const missing: LockedDeb[] = [];
  for (const d of debs) if (!(await cas.has(debDigest(d)))) missing.push(d);
  if (missing.length === 0) return { fetched: 0, bytes: 0 };
  await copyFromKeepers(cas, missing, opts);
  for (let i = missing.length - 1; i >= 0; i--) if (await cas.has(debDigest(missing[i]!))) missing.splice(i, 1);
  if (missing.length === 0) return { fetched: 0, bytes: 0 };
  if (opts.offline) throw unsatisfied(missing, opts.lockFile, 'offline, and not in the CAS');
  const { fetchInputs } = await import('../fetch/fetch.js');
  try {
    await fetchInputs(
      missing.map((d) => ({ name: debKey(d), url: d.url, sha256: d.sha256 })),
      {
        cas,
        lock: { lockVersion: 1, inputs: {} },
        frozen: true,
        maxBytes: Math.max(...missing.map((d) => d.size)),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      },
    );
  } catch (e) {
    // a 404/410 means the mirror has moved on: this version can only come from a CAS now
    const status = isAirlockError(e) ? (e.details as { status?: number } | undefined)?.status : undefined;
    if (status === 404 || status === 410) {
      const gone: LockedDeb[] = [];
      for (const d of missing) if (!(await cas.has(debDigest(d)))) gone.push(d);
      throw unsatisfied(gone, opts.lockFile, 'not in the CAS, and the mirror no longer has them', e);
    }
    throw e;
  }
  return { fetched: missing.length, bytes: missing.reduce((t, d) => t + d.size, 0) };
}

/** Copies what another CAS keeps; a copy that does not hash to its sha256 is dropped (the mirror may still have it). */
async function copyFromKeepers(cas: Cas, missing: readonly LockedDeb[], opts: EnsureDebsOptions): Promise<void> {
  for (const root of opts.keepers ?? sharedCasDirs()) {
    if (resolve(root) === resolve(cas.root)) continue;
    const keeper = new Cas(root);
    for (const d of missing) {
      const digest = debDigest(d);
      if ((await cas.has(digest)) || !(await keeper.has(digest))) continue;
      try {
        await cas.putFile(keeper.pathOf(digest), { expectedDigest: digest, ...(opts.signal ? { signal: opts.signal } : {}) });
      } catch (e) {
        if (!isAirlockError(e) || e.code !== 'CAS_CORRUPT') throw e;
      }
    }
  }
}

function unsatisfied(debs: readonly LockedDeb[], lockFile: string, why: string, cause?: unknown): AirlockError {
  const names = debs.map((d) => `${d.name} ${d.version} (${d.architecture}, sha256 ${d.sha256.slice(0, 12)}…)`);
  return new AirlockError(
    'BASE_LOCK_UNSATISFIED',
    `${debs.length} locked package file(s) of ${lockFile} are ${why}:\n  ${names.slice(0, 20).join('\n  ')}${names.length > 20 ? `\n  … and ${names.length - 20} more` : ''}\n` +
      `Either bring the blobs from a machine that has them (copy its artifacts/blobs/sha256/ into this project's, or \`airlock export\` a bundle there), ` +
      `or re-resolve against today's mirror with \`airlock base update\` (this changes the lock; review its diff).`,
    { ...(cause !== undefined ? { cause } : {}), details: { lock: lockFile, packages: debs.map((d) => ({ name: d.name, version: d.version, sha256: d.sha256 })) } },
  );
}

/**
 * A flat apt repository of exactly `debs` (symlinks into the CAS, indexed by Debian's own
 * apt-ftparchive), so apt can choose nothing else. Its Release names `suite`, which
 * mmdebstrap needs to pick the Essential:yes set.
 */
export async function writeLocalRepo(cas: Cas, debs: readonly LockedDeb[], dir: string, suite: string): Promise<void> {
  await requirePackage('apt-utils', 'to index the locked packages of a base (apt-ftparchive)');
  const { execa } = await import('execa');
  await mkdir(join(dir, 'pool'), { recursive: true });
  for (const d of debs) await symlink(cas.pathOf(debDigest(d)), join(dir, 'pool', `${debKey(d).replace(/:/g, '%3a')}.deb`));
  const packages = await execa('apt-ftparchive', ['packages', 'pool'], { cwd: dir, maxBuffer: 256 * 1024 * 1024 });
  await writeFile(join(dir, 'Packages'), packages.stdout + '\n');
  const release = await execa('apt-ftparchive', ['-o', `APT::FTPArchive::Release::Suite=${suite}`, '-o', `APT::FTPArchive::Release::Codename=${suite}`, 'release', '.'], { cwd: dir });
  await writeFile(join(dir, 'Release'), release.stdout + '\n');
}
