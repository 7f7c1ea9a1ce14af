import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { AirlockError } from '../errors.js';
import type { Cas } from '../store/cas.js';
import { parseDpkgStatus } from './apt-index.js';
import type { DebianBaseRecipe } from './catalog.js';
import { writeLocalRepo } from './debs.js';
import type { LockedDeb } from './lock.js';
import { debianSources, sourcesList } from './mirror.js';
import { requirePackage } from './host-tools.js';

type Say = (line: string) => void;

/**
 * Builds a Debian base's rootfs tar from exactly the locked .debs (already in the CAS):
 * a flat local repository of those files is the only source mmdebstrap sees, so apt cannot
 * pick anything else, and SOURCE_DATE_EPOCH makes the bytes reproducible. No network.
 */
export async function buildDebianRootfs(cas: Cas, recipe: DebianBaseRecipe, debs: readonly LockedDeb[], destTar: string, say: Say): Promise<void> {
  const repo = await mkdtemp(join(tmpdir(), 'airlock-repo-'));
  try {
    await writeLocalRepo(cas, debs, repo, recipe.suite);
    // copy:// (not file://): mmdebstrap copies the files into the chroot's cache instead of
    // expecting the repository to be visible from inside it
    await mmdebstrap(recipe, destTar, [`deb [trusted=yes] copy://${repo} ./`], say, ['--aptopt=Acquire::Languages "none"']);
  } finally {
    await rm(repo, { recursive: true, force: true });
  }
}

/**
 * What apt on today's mirror would install for `recipe` (the essential set, apt, the
 * includes and their dependencies): a throwaway mmdebstrap against the live archives,
 * of which only the dpkg status is kept. Used by `airlock base update` only.
 */
export async function resolveDebianPackages(recipe: DebianBaseRecipe, say: Say): Promise<{ name: string; version: string; architecture: string }[]> {
  const work = await mkdtemp(join(tmpdir(), 'airlock-resolve-'));
  try {
    const sources = debianSources(recipe.suite).map((s) => `deb ${s.uri} ${s.suite} main`);
    await mmdebstrap(recipe, '/dev/null', sources, say, ['--format=null', `--customize-hook=copy-out /var/lib/dpkg/status ${work}`]);
    return parseDpkgStatus(await readFile(join(work, 'status'), 'utf8'));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function mmdebstrap(recipe: DebianBaseRecipe, target: string, sources: string[], say: Say, extra: string[]): Promise<void> {
  await requirePackage('mmdebstrap', 'to make the Debian base images');
  const sourcesFile = join(tmpdir(), `airlock-sources-${process.pid}-${Math.random().toString(36).slice(2)}.list`);
  await writeFile(sourcesFile, sourcesList(recipe.suite));
  const args = [
    '--variant=minbase',
    '--mode=root',
    `--architectures=${recipe.architecture}`,
    ...(recipe.include.length ? [`--include=${recipe.include.join(',')}`] : []),
    // the image's apt sources name the real archives, whichever source built it
    `--customize-hook=upload ${sourcesFile} /etc/apt/sources.list`,
    ...extra,
    recipe.suite,
    target,
    ...sources,
  ];
  try {
    const child = execa('mmdebstrap', args, { env: { SOURCE_DATE_EPOCH: String(recipe.sourceDateEpoch) }, reject: false, all: true });
    child.all?.on('data', (c: unknown) => String(c).split('\n').filter(Boolean).forEach((l) => say(l)));
    const r = await child;
    if (r.exitCode !== 0) {
      throw new AirlockError('BASE_BUILD_FAILED', `mmdebstrap ${recipe.suite} failed (exit ${r.exitCode}):\n${String(r.all ?? '').split('\n').slice(-15).join('\n')}`, {
        details: { args },
      });
    }
  } finally {
    await rm(sourcesFile, { force: true });
  }
}
