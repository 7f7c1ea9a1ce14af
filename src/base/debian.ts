import { createReadStream } from 'node:fs';
import { execa } from 'execa';
import { forEachTarEntry } from '../archive/tar-read.js';
import { AirlockError } from '../errors.js';
import { requirePackage } from './host-tools.js';

export type DebianSource = {
  kind: 'mmdebstrap';
  suite: string;
  variant: 'minbase';
  include: string[];
  sourceDateEpoch: number;
  packages: Record<string, string>;
};

export interface DebianRecipe {
  suite: string;
  include: string[];
  /** fixed so the same package set gives a bit-identical rootfs (mmdebstrap honours SOURCE_DATE_EPOCH) */
  sourceDateEpoch: number;
}

/** Runs mmdebstrap (network through apt only, never inside a build) into a rootfs tar. */
export async function writeDebianRootfs(destTar: string, recipe: DebianRecipe, onLine?: (l: string) => void): Promise<DebianSource> {
  await requirePackage('mmdebstrap', 'to make the airlock/debian base images');
  const args = ['--variant=minbase', '--mode=root', '--format=tar', ...(recipe.include.length ? [`--include=${recipe.include.join(',')}`] : []), recipe.suite, destTar];
  const child = execa('mmdebstrap', args, {
    env: { SOURCE_DATE_EPOCH: String(recipe.sourceDateEpoch) },
    reject: false,
    all: true,
  });
  child.all?.on('data', (c: unknown) => String(c).split('\n').filter(Boolean).forEach((l) => onLine?.(l)));
  const r = await child;
  if (r.exitCode !== 0) {
    throw new AirlockError('BASE_BUILD_FAILED', `mmdebstrap ${recipe.suite} failed (exit ${r.exitCode}):\n${String(r.all ?? '').split('\n').slice(-15).join('\n')}`, {
      details: { args },
    });
  }
  return { kind: 'mmdebstrap', suite: recipe.suite, variant: 'minbase', include: recipe.include, sourceDateEpoch: recipe.sourceDateEpoch, packages: await dpkgPackages(destTar) };
}

/** Package → version, read from the rootfs's dpkg status file: what the lock pins as the source. */
async function dpkgPackages(rootfsTar: string): Promise<Record<string, string>> {
  let status = '';
  await forEachTarEntry(createReadStream(rootfsTar), async (header, body) => {
    if (header.name.replace(/^\.?\//, '') !== 'var/lib/dpkg/status') return;
    for await (const chunk of body) status += chunk.toString('utf8');
  });
  const packages: Record<string, string> = {};
  for (const para of status.split(/\n\n+/)) {
    const pkg = /^Package: (.+)$/m.exec(para)?.[1];
    const version = /^Version: (.+)$/m.exec(para)?.[1];
    const installed = /^Status: .* installed$/m.test(para);
    if (pkg && version && installed) packages[pkg] = version;
  }
  return Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a < b ? -1 : 1)));
}
