import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtinBases, BUSYBOX_REF } from '../src/base/catalog.js';
import { debDigest, ensureDebs } from '../src/base/debs.js';
import { ensureBases } from '../src/base/ensure.js';
import { BASE_LOCK_FILE, readBaseLock } from '../src/base/lock.js';
import { connectEngine } from '../src/engine/client.js';
import { LABEL_ROOTFS } from '../src/engine/labels.js';
import { measureImage } from '../src/engine/measure.js';
import { Cas } from '../src/store/cas.js';
import { KERNEL_LOCK_FILE } from '../src/vm/kernel.js';
import { REPO, repoCas, runIn, sandbox } from './helpers.js';

const docker = connectEngine();
const BOOKWORM = 'airlock/debian:bookworm';
const AIRLOCK = join(REPO, 'bin', 'airlock');

async function locksCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-locks-'));
  await cp(join(REPO, 'locks', BASE_LOCK_FILE), join(dir, BASE_LOCK_FILE));
  return dir;
}

/** A second "machine": its own workspace and CAS holding only the given blobs (as `airlock export` or a copy would bring them). */
async function workspaceWith(digests: string[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'airlock-ws-'));
  const cas = await Cas.open(join(root, 'artifacts'));
  const from = await repoCas();
  for (const d of digests) await cp(from.pathOf(d as `sha256:${string}`), cas.pathOf(d as `sha256:${string}`));
  return root;
}

/** a machine that has only what the test gives it: no shared CAS to copy locked files from */
const NO_SHARED_CAS = { AIRLOCK_SHARED_CAS: '' };

describe('base images built only from their locks', () => {
  // Every locked file in this checkout's CAS, as `make setup` leaves it on a new machine (where the engine already
  // holds every base, setup has nothing to build and fetches nothing): from the shared CAS, else the mirror.
  beforeAll(async () => {
    const lock = await readBaseLock(join(REPO, 'locks', BASE_LOCK_FILE));
    const kernel = JSON.parse(await readFile(join(REPO, 'locks', KERNEL_LOCK_FILE), 'utf8'));
    const debs = [...Object.values(lock.bases).flatMap((b) => b.packages), kernel.kernel.package];
    const unique = [...new Map(debs.map((d) => [debDigest(d), d])).values()];
    await ensureDebs(await repoCas(), unique, { lockFile: 'locks/' });
  }, 900_000);

  it('are present and match the lock, so setup is fast when nothing changed', async () => {
    const results = await ensureBases(docker, { cas: await repoCas(), recipes: builtinBases() });
    expect(results.map((r) => r.outcome)).toEqual(['present', 'present', 'present']);
  });

  it('measure the same through the engine as from the tar they were imported from', async () => {
    const labelled = (await docker.images.inspect(BUSYBOX_REF)).Config?.Labels?.[LABEL_ROOTFS];
    const measured = await measureImage(docker, BUSYBOX_REF, 'test-measure');
    expect(measured.digest).toBe(labelled);
  });

  it('a Debian base rebuilt twice from its locked .debs gives the locked digest both times', async () => {
    const lock = await readBaseLock(join(REPO, 'locks', BASE_LOCK_FILE));
    const recipe = builtinBases().filter((b) => b.ref === BOOKWORM);
    const first = await ensureBases(docker, { cas: await repoCas(), recipes: recipe, force: true });
    const second = await ensureBases(docker, { cas: await repoCas(), recipes: recipe, force: true });
    expect(first[0]).toMatchObject({ outcome: 'built', rootfsDigest: lock.bases[BOOKWORM]!.rootfsDigest, fetched: { files: 0 } });
    expect(second[0]!.rootfsDigest).toBe(first[0]!.rootfsDigest);
    expect((await docker.images.inspect(BOOKWORM)).Config?.Labels?.[LABEL_ROOTFS]).toBe(lock.bases[BOOKWORM]!.rootfsDigest);
  });

  it('a lock with one tampered sha256 fails naming that package, stores nothing under it, and stays as it was', async () => {
    const dir = await locksCopy();
    const file = join(dir, BASE_LOCK_FILE);
    const lock = await readBaseLock(file);
    const victim = lock.bases[BOOKWORM]!.packages.find((p) => p.name === 'dash')!;
    const real = victim.sha256;
    victim.sha256 = real.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const tampered = JSON.stringify(lock, null, 2);
    await writeFile(file, tampered);
    const cas = await repoCas();
    const error = await ensureBases(docker, { cas, recipes: builtinBases(dir).filter((b) => b.ref === BOOKWORM), force: true }).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'FETCH_HASH_MISMATCH' });
    expect(error.message).toContain(`dash_${victim.version}`);
    expect(await cas.has(`sha256:${victim.sha256}`)).toBe(false);
    expect(await readFile(file, 'utf8')).toBe(tampered);
  });

  it('a base whose declaration drifted from its lock is refused with `base update`, never re-pinned', async () => {
    const dir = await locksCopy();
    const recipe = builtinBases(dir).find((b) => b.ref === 'airlock/debian:bookworm-build')!;
    const drifted = { ...recipe, include: [...(recipe.kind === 'debian' ? recipe.include : []), 'python3'] };
    const error = await ensureBases(docker, { cas: await repoCas(), recipes: [drifted] }).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'BASE_LOCK_MISMATCH', message: expect.stringContaining('airlock base update --only airlock/debian:bookworm-build') });
  });

  it('offline, in a network namespace with only lo: every base and the kernel rebuild from another CAS to the locked digests', async () => {
    const lock = await readBaseLock(join(REPO, 'locks', BASE_LOCK_FILE));
    const kernel = JSON.parse(await readFile(join(REPO, 'locks', KERNEL_LOCK_FILE), 'utf8'));
    const debs = [...new Set([...Object.values(lock.bases).flatMap((b) => b.packages.map((p) => `sha256:${p.sha256}`)), `sha256:${kernel.kernel.package.sha256}`])];
    const root = await workspaceWith(debs);
    const r = await execa('unshare', ['--net', '--', process.execPath, AIRLOCK, 'base', '--offline', '--force', '--json', '--root', root], { reject: false, cwd: root, env: NO_SHARED_CAS });
    expect(r.stderr).not.toMatch(/Temporary failure resolving|Could not resolve/);
    expect(r.exitCode).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    for (const [ref, entry] of Object.entries(lock.bases)) {
      expect(result.bases.find((b: { ref: string }) => b.ref === ref)).toMatchObject({ outcome: 'built', rootfsDigest: entry.rootfsDigest, fetched: { files: 0 } });
    }
    expect(result.kernel).toMatchObject({ sha256: kernel.kernel.vmlinuz, deb: `sha256:${kernel.kernel.package.sha256}` });
  });

  it('offline with the .debs missing: exit 3 naming the packages and both ways out', async () => {
    const root = await mkdtemp(join(tmpdir(), 'airlock-ws-'));
    await mkdir(join(root, 'artifacts'), { recursive: true });
    const r = await execa(process.execPath, [AIRLOCK, 'base', '--offline', '--force', '--only', BUSYBOX_REF, '--root', root], { reject: false, cwd: root, env: NO_SHARED_CAS });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/busybox-static .* \(amd64/);
    expect(r.stderr).toContain('airlock base update');
    expect(r.stderr).toContain('artifacts/blobs/sha256/');
    // the same new workspace, offline, with airlock's own CAS to copy from (what `make setup` filled)
    const shared = await execa(process.execPath, [AIRLOCK, 'base', '--offline', '--force', '--only', BUSYBOX_REF, '--json', '--root', root], { reject: false, cwd: root });
    expect(shared.exitCode, shared.stderr).toBe(0);
    expect(JSON.parse(shared.stdout.trim().split('\n').at(-1)!).bases[0]).toMatchObject({ outcome: 'built', fetched: { files: 0 } });
  });

  it('a second machine fed from the mirror (empty CAS) gets the same digest as the lock', async () => {
    const lock = await readBaseLock(join(REPO, 'locks', BASE_LOCK_FILE));
    const root = await workspaceWith([]);
    const r = await execa(process.execPath, [AIRLOCK, 'base', '--force', '--only', BUSYBOX_REF, '--only', BOOKWORM, '--json', '--root', root], { reject: false, cwd: root, env: NO_SHARED_CAS });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(result.bases.map((b: { rootfsDigest: string }) => b.rootfsDigest)).toEqual([lock.bases[BUSYBOX_REF]!.rootfsDigest, lock.bases[BOOKWORM]!.rootfsDigest]);
    expect(result.bases[1].fetched.files).toBe(lock.bases[BOOKWORM]!.packages.length);
  });

  it('a spec declares its own base (python3): built from its lock, its sealed cell runs a Python suite offline, its SBOM is a signed subject', async () => {
    const sb = await sandbox();
    try {
      const result = await runIn(sb, join(REPO, 'examples', 'python-base', 'airlock.yaml'));
      expect(result.verdict).toBe('passed');
      const statement = JSON.parse(await readFile(join(result.bundleDir, 'statement.json'), 'utf8'));
      const sbom = statement.subject.find((s: { name: string }) => s.name === 'sbom/airlock/python-base/py:latest.spdx.json');
      expect(sbom).toBeDefined();
      const doc = JSON.parse((await sb.workspace.cas.readBytes(`sha256:${sbom.digest.sha256}`)).toString('utf8'));
      expect(doc.spdxVersion).toBe('SPDX-2.3');
      expect(doc.packages.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['python3', 'python3.11', 'libc6']));
    } finally {
      sb.close();
    }
  });

  it('`make smoke` rewrites no committed lock, schema or example', async () => {
    // the files a command could be tempted to rewrite; the rest of the tree may be edited meanwhile
    const watched = ['locks', 'spec', 'examples', 'airlock.yaml'];
    const status = async () => (await execa('git', ['status', '--porcelain', '--', ...watched], { cwd: REPO })).stdout;
    const diff = async () => (await execa('git', ['diff', '--', ...watched], { cwd: REPO })).stdout;
    const [before, beforeDiff] = [await status(), await diff()];
    const r = await execa('make', ['smoke'], { cwd: REPO, reject: false, env: { AIRLOCK_SETUP_QUIET: '1' } });
    expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(/PASS/);
    expect(await status()).toBe(before);
    expect(await diff()).toBe(beforeDiff);
  });
});
