import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';

import { AirlockError } from '../errors.js';
import { isDigest, type Digest } from '../util/digest.js';

export const KERNEL_LOCK_FILE = 'vm-kernel.lock.json';
/** Debian's cloud flavour: small, virtio and 8250 serial in reach, boots in ~3 s under TCG. */
const KERNEL_RE = /^vmlinuz-(.+-cloud-amd64)$/;
/**
 * Modules the guest loads (in this order: dependencies first). virtio_console carries the
 * airlock channel in every guest; virtio_blk only matters to ext4 guest roots.
 */
export const GUEST_MODULES = ['virtio_pci', 'virtio_console', 'virtio_blk'] as const;

const LockSchema = z.object({
  lockVersion: z.literal(1),
  kernel: z.object({
    package: z.string(),
    version: z.string(),
    release: z.string(),
    file: z.string(),
    sha256: z.string().refine(isDigest, 'expected sha256:<hex>'),
    /** module name → digest, in load order */
    modules: z.record(z.string(), z.string().refine(isDigest, 'expected sha256:<hex>')),
  }),
});
export type KernelLock = z.infer<typeof LockSchema>;

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
  /** GUEST_MODULES and their dependencies, dependencies first */
  modules: GuestModule[];
}

export interface ResolveKernelOptions {
  /** rewrite the lock with what is installed (the default unless frozen) */
  update?: boolean;
  /**
   * refuse a kernel that differs from the lock (FETCH_HASH_MISMATCH) instead of
   * re-pinning it; default: AIRLOCK_FROZEN=1 in the environment
   */
  frozen?: boolean;
  /** default /boot */
  bootDir?: string;
  /** default /lib/modules */
  modulesRoot?: string;
}

/**
 * The guest kernel, pinned in `<locksDir>/vm-kernel.lock.json` by package version and
 * sha256 (its modules too). The lock is written on first use. Afterwards a kernel that
 * differs from it (Debian ships kernel updates, and superseded ones leave the mirror) is
 * re-pinned, as base images are, with what changed on stderr; frozen, it is refused
 * (FETCH_HASH_MISMATCH). Either way the proof records the kernel's digest.
 */
export async function resolveKernel(locksDir: string, options: ResolveKernelOptions = {}): Promise<ResolvedKernel> {
  const bootDir = options.bootDir ?? '/boot';
  const modulesRoot = options.modulesRoot ?? '/lib/modules';
  const lockPath = join(locksDir, KERNEL_LOCK_FILE);
  const lock = await readLock(lockPath);
  const frozen = options.frozen ?? process.env.AIRLOCK_FROZEN === '1';
  const lockedInstalled = lock !== undefined && (await fs.stat(join(bootDir, lock.kernel.file)).then(() => true, () => false));
  const release = lock && lockedInstalled && !options.update ? lock.kernel.release : await newestInstalled(bootDir);
  const found = await describeInstalled(bootDir, modulesRoot, release, lock?.kernel.release === release ? lock : undefined);

  if (lock && !options.update) {
    const problems: string[] = [];
    if (found.release !== lock.kernel.release) problems.push(`locked kernel ${lock.kernel.release} is not installed; ${found.release} is`);
    if (found.version !== lock.kernel.version) problems.push(`package ${found.package} is ${found.version}, locked ${lock.kernel.version}`);
    if (found.sha256 !== lock.kernel.sha256) problems.push(`${found.path} hashes to ${found.sha256}, locked ${lock.kernel.sha256}`);
    for (const m of found.modules) {
      if (lock.kernel.modules[m.name] !== m.sha256) problems.push(`module ${m.name} hashes to ${m.sha256}, locked ${lock.kernel.modules[m.name] ?? '(not locked)'}`);
    }
    if (problems.length > 0 && !frozen) {
      process.stderr.write(`airlock: re-pinning the guest kernel in ${lockPath}:\n  ${problems.join('\n  ')}\n`);
    } else if (problems.length > 0) {
      throw new AirlockError(
        'FETCH_HASH_MISMATCH',
        `the installed guest kernel does not match ${lockPath}:\n  ${problems.join('\n  ')}\n` +
          `reinstall ${found.package}=${lock.kernel.version}, or accept the installed one (without AIRLOCK_FROZEN=1)`,
        { details: { lock: lockPath, problems, locked: lock.kernel, installed: { version: found.version, sha256: found.sha256 } } },
      );
    } else {
      return found;
    }
  }
  const next: KernelLock = {
    lockVersion: 1,
    kernel: {
      package: found.package,
      version: found.version,
      release: found.release,
      file: found.path.slice(bootDir.length + 1),
      sha256: found.sha256,
      modules: Object.fromEntries(found.modules.map((m) => [m.name, m.sha256])),
    },
  };
  await fs.mkdir(locksDir, { recursive: true });
  await fs.writeFile(`${lockPath}.tmp`, `${JSON.stringify(next, null, 2)}\n`);
  await fs.rename(`${lockPath}.tmp`, lockPath);
  return found;
}

async function readLock(path: string): Promise<KernelLock | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const parsed = LockSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new AirlockError('FETCH_HASH_MISMATCH', `${path} is not a valid kernel lock: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      details: { lock: path },
    });
  }
  return parsed.data;
}

/** Path of the newest installed cloud kernel (the accelerator probe boots it; cells use the locked one). */
export async function newestCloudKernel(bootDir = '/boot'): Promise<string> {
  return join(bootDir, `vmlinuz-${await newestInstalled(bootDir)}`);
}

async function newestInstalled(bootDir: string): Promise<string> {
  const releases = (await fs.readdir(bootDir).catch(() => [] as string[]))
    .map((n) => KERNEL_RE.exec(n)?.[1])
    .filter((r): r is string => r !== undefined)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const newest = releases.at(-1);
  if (newest === undefined) {
    throw new AirlockError('ENGINE_ERROR', `no Debian cloud kernel in ${bootDir}: run \`apt-get install linux-image-cloud-amd64\``, {
      details: { bootDir },
    });
  }
  return newest;
}

async function describeInstalled(bootDir: string, modulesRoot: string, release: string, lock: KernelLock | undefined): Promise<ResolvedKernel> {
  const path = join(bootDir, `vmlinuz-${release}`);
  const pkg = `linux-image-${release}`;
  try {
    await fs.access(path, fs.constants.R_OK);
  } catch {
    throw new AirlockError('FETCH_HASH_MISMATCH', `the ${lock ? 'locked ' : ''}guest kernel ${path} is not installed (or not readable): run \`apt-get install ${pkg}${lock ? `=${lock.kernel.version}` : ''}\``, {
      details: { path, package: pkg },
    });
  }
  const version = await packageVersion(pkg);
  const modules: GuestModule[] = [];
  for (const rel of await moduleOrder(join(modulesRoot, release))) {
    const file = join(modulesRoot, release, rel);
    modules.push({ name: moduleName(rel), path: file, sha256: await hashFile(file) });
  }
  return { path, sha256: await hashFile(path), version, release, package: pkg, modules };
}

async function packageVersion(pkg: string): Promise<string> {
  const r = await execa('dpkg-query', ['-W', '-f', '${Version}', pkg], { reject: false });
  if (r.exitCode !== 0 || r.stdout.trim() === '') {
    throw new AirlockError('ENGINE_ERROR', `cannot read the version of ${pkg} (dpkg-query: ${r.stderr.trim() || `exit ${r.exitCode}`})`, {
      details: { package: pkg },
    });
  }
  return r.stdout.trim();
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

async function hashFile(path: string): Promise<Digest> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
