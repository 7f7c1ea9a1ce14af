import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

import { AirlockError } from '../errors.js';
import { AIRLOCK_LOCKS_DIR } from '../base/catalog.js';
import { debDigest, ensureDebs } from '../base/debs.js';
import { readLockFile, type LockedDeb } from '../base/lock.js';
import { rememberedSha256 } from './file-stamp.js';
import { KernelLockSchema, type KernelLock } from './kernel-lock.js';
import { newestDeb, type ResolvedIndexes } from '../base/mirror.js';
import { requirePackage } from '../base/host-tools.js';
import { writeFileAtomic } from '../proof/atomic-write.js';
import type { Cas } from '../store/cas.js';
import type { Digest } from '../util/digest.js';

export const KERNEL_LOCK_FILE = 'vm-kernel.lock.json';
/** Debian's cloud flavour: small, virtio and 8250 serial in reach, boots in ~3 s under TCG. */
const KERNEL_META_PACKAGE = 'linux-image-cloud-amd64';
/**
 * Modules the guest loads (in this order: dependencies first). virtio_console carries the
 * airlock channel in every guest; virtio_blk only matters to ext4 guest roots.
 */
export const GUEST_MODULES = ['virtio_pci', 'virtio_console', 'virtio_blk'] as const;


export interface GuestModule {
  name: string;
  path: string;
  sha256: Digest;
}

export interface ResolvedKernel {
  path: string;
  sha256: Digest;
  /** the Debian package version, e.g. `6.1.192-2` */
  version: string;
  /** `uname -r` of the guest, e.g. `6.1.0-56-cloud-amd64` */
  release: string;
  package: string;
  /** sha256 of the .deb it came from */
  deb: Digest;
  /** GUEST_MODULES and their dependencies, dependencies first */
  modules: GuestModule[];
}

export interface ResolveKernelOptions {
  /** default airlock's own locks/ */
  locksDir?: string;
  /** never fetch the .deb: it must be in the CAS */
  offline?: boolean;
  signal?: AbortSignal;
}

export async function readKernelLock(file: string): Promise<KernelLock | undefined> {
  return readLockFile<KernelLock | undefined>(file, KernelLockSchema, undefined, 'guest kernel lock');
}

/**
 * The guest kernel, a pure function of `vm-kernel.lock.json`: the locked linux-image .deb is
 * taken from the CAS (or fetched by its sha256), unpacked once into `<cas>/kernels/<deb hex>`,
 * and the kernel and module digests are checked against the lock. Whatever /boot holds is
 * never used. A lock that is missing or does not match is an error, never a re-pin: only
 * `airlock base update` writes it.
 */
export async function resolveKernel(cas: Cas, options: ResolveKernelOptions = {}): Promise<ResolvedKernel> {
  const lockFile = join(options.locksDir ?? AIRLOCK_LOCKS_DIR, KERNEL_LOCK_FILE);
  const lock = await readKernelLock(lockFile);
  if (!lock) {
    throw new AirlockError('BASE_LOCK_MISMATCH', `no guest kernel is locked (${lockFile} is missing); run \`airlock base update --only kernel\``, { details: { lock: lockFile } });
  }
  const { kernel: k } = lock;
  await ensureDebs(cas, [k.package], { lockFile, ...(options.offline ? { offline: true } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const found = await unpackKernel(cas, k.package, k.release);
  const problems: string[] = [];
  if (found.sha256 !== k.vmlinuz) problems.push(`${found.path} hashes to ${found.sha256}, locked ${k.vmlinuz}`);
  for (const m of found.modules) if (k.modules[m.name] !== m.sha256) problems.push(`module ${m.name} hashes to ${m.sha256}, locked ${k.modules[m.name] ?? '(not locked)'}`);
  if (problems.length > 0) {
    throw new AirlockError('BASE_LOCK_MISMATCH', `the guest kernel unpacked from ${k.package.name} ${k.package.version} does not match ${lockFile}:\n  ${problems.join('\n  ')}`, {
      details: { lock: lockFile, problems },
    });
  }
  return found;
}

/** `airlock base update` for the kernel: the version the cloud metapackage points at today, locked by sha256. */
export async function updateKernelLock(cas: Cas, idx: ResolvedIndexes, locksDir: string, signal?: AbortSignal): Promise<{ changed: boolean; diff: string[]; release: string }> {
  const lockFile = join(locksDir, KERNEL_LOCK_FILE);
  const meta = newestDeb(idx, KERNEL_META_PACKAGE);
  const target = meta?.depends?.split(',')[0]?.trim().split(/\s/)[0];
  const found = target ? newestDeb(idx, target) : undefined;
  if (!meta || !target || !found) throw new AirlockError('BASE_RESOLVE_FAILED', `cannot resolve ${KERNEL_META_PACKAGE} in the ${idx.suite} archives`);
  const { depends: _, ...deb } = found;
  const release = target.slice('linux-image-'.length);
  await ensureDebs(cas, [deb], { lockFile, ...(signal ? { signal } : {}) });
  const unpacked = await unpackKernel(cas, deb, release);
  const before = await readKernelLock(lockFile).catch(() => undefined);
  const next: KernelLock = {
    lockVersion: 2,
    kernel: {
      suite: idx.suite,
      architecture: idx.architecture,
      resolvedAt: idx.resolvedAt,
      indexes: idx.indexes,
      package: deb,
      release,
      vmlinuz: unpacked.sha256,
      modules: Object.fromEntries(unpacked.modules.map((m) => [m.name, m.sha256])),
    },
  };
  const was = before?.kernel.package;
  const changed = was?.sha256 !== deb.sha256;
  if (changed) await writeFileAtomic(lockFile, `${JSON.stringify(next, null, 2)}\n`);
  const diff = changed ? [`kernel: ${was ? `${was.name} ${was.version}` : '(none)'} -> ${deb.name} ${deb.version}`, `  vmlinuz ${unpacked.sha256}`] : ['kernel: unchanged'];
  return { changed, diff, release };
}

/**
 * The kernel and its guest modules out of the .deb (kept in the CAS), unpacked once per .deb
 * into `<cas>/kernels/<hex>`; modules.dep is made there with depmod (Debian's postinst does
 * the same; the .deb does not ship it).
 */
async function unpackKernel(cas: Cas, deb: LockedDeb, release: string): Promise<ResolvedKernel> {
  const dir = join(cas.root, 'kernels', deb.sha256);
  if (!(await fs.stat(join(dir, '.complete')).then(() => true, () => false))) {
    await requirePackage('kmod', 'to index the guest kernel modules (depmod)');
    const tmp = `${dir}.${process.pid}.tmp`;
    await fs.rm(tmp, { recursive: true, force: true });
    await fs.mkdir(tmp, { recursive: true });
    await execa('dpkg-deb', ['-x', cas.pathOf(debDigest(deb)), tmp]);
    await execa('depmod', ['-b', tmp, release]);
    await fs.writeFile(join(tmp, '.complete'), '');
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(tmp, dir);
  }
  const path = join(dir, 'boot', `vmlinuz-${release}`);
  const releaseDir = join(dir, 'lib', 'modules', release);
  // Checked against the lock on every resolve; re-hashed only when a file's identity changed
  // since it was last hashed (file-stamp.ts): a cell no longer pays ~110 ms for the same bytes.
  const stamps = join(dir, '.digests.json');
  const modules: GuestModule[] = [];
  for (const rel of await moduleOrder(releaseDir)) {
    const file = join(releaseDir, rel);
    modules.push({ name: moduleName(rel), path: file, sha256: await rememberedSha256(stamps, file) });
  }
  return { path, sha256: await rememberedSha256(stamps, path), version: deb.version, release, package: deb.name, deb: debDigest(deb), modules };
}

const moduleName = (rel: string): string => rel.slice(rel.lastIndexOf('/') + 1).replace(/\.ko(\.[a-z]+)?$/, '');

/** GUEST_MODULES and their dependencies from modules.dep, dependencies first (paths relative to the release dir). */
export async function moduleOrder(releaseDir: string): Promise<string[]> {
  const depFile = join(releaseDir, 'modules.dep');
  const text = await fs.readFile(depFile, 'utf8').catch((e: unknown) => {
    throw new AirlockError('ENGINE_ERROR', `cannot read ${depFile}: ${(e as Error).message}`, { cause: e, details: { path: depFile } });
  });
  const builtin = await fs.readFile(join(releaseDir, 'modules.builtin'), 'utf8').catch(() => '');
  const builtIn = new Set(builtin.split('\n').filter(Boolean).map(moduleName));
  return resolveModuleOrder(text, GUEST_MODULES.filter((m) => !builtIn.has(m)));
}

/** Pure part of moduleOrder: a depth-first walk of a modules.dep text. */
export function resolveModuleOrder(modulesDep: string, wanted: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of modulesDep.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const mod = line.slice(0, colon).trim();
    deps.set(mod, line.slice(colon + 1).trim().split(/\s+/).filter(Boolean));
    byName.set(moduleName(mod), mod);
  }
  const order: string[] = [];
  const visit = (mod: string, stack: string[]) => {
    if (order.includes(mod)) return;
    if (stack.includes(mod)) throw new AirlockError('ENGINE_ERROR', `module dependency loop: ${[...stack, mod].join(' -> ')}`);
    for (const d of deps.get(mod) ?? []) visit(d, [...stack, mod]);
    order.push(mod);
  };
  for (const name of wanted) {
    const mod = byName.get(name);
    if (mod === undefined) throw new AirlockError('ENGINE_ERROR', `the guest kernel has no module ${name} (needed for the VM channel or disk)`, { details: { module: name } });
    visit(mod, []);
  }
  return order;
}

