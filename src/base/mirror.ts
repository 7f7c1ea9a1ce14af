import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { request } from 'undici';
import { AirlockError } from '../errors.js';
import { compareDebianVersions, parsePackagesIndex, parseReleaseSha256, type IndexedDeb } from './apt-index.js';
import type { LockedDeb, LockedIndex } from './lock.js';

/**
 * The Debian archives a suite is resolved from, as the machine's apt and mmdebstrap use
 * them for a stable release: the suite, its point-release updates, and security.
 * `AIRLOCK_DEBIAN_MIRROR` / `AIRLOCK_DEBIAN_SECURITY_MIRROR` point elsewhere (a local mirror).
 */
export function debianSources(suite: string): { uri: string; suite: string }[] {
  const main = (process.env.AIRLOCK_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian').replace(/\/+$/, '');
  const security = (process.env.AIRLOCK_DEBIAN_SECURITY_MIRROR ?? 'http://deb.debian.org/debian-security').replace(/\/+$/, '');
  return [
    { uri: main, suite },
    { uri: main, suite: `${suite}-updates` },
    { uri: security, suite: `${suite}-security` },
  ];
}

/** apt's one-line sources for a suite: written into every Debian base's /etc/apt/sources.list. */
export function sourcesList(suite: string): string {
  return debianSources(suite).map((s) => `deb ${s.uri} ${s.suite} main\n`).join('');
}

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const MAX_RELEASE_BYTES = 4 * 1024 * 1024;
const MAX_PACKAGES_XZ_BYTES = 128 * 1024 * 1024;

/** The package files of a suite's archives, as their signed indexes list them. */
export interface ResolvedIndexes {
  suite: string;
  architecture: string;
  resolvedAt: string;
  indexes: LockedIndex[];
  /** every version of a package across the archives, with the archive root it is in */
  byName: Map<string, (IndexedDeb & { root: string })[]>;
}

/**
 * Reads the suite's InRelease files (signature checked against Debian's archive keyring
 * with gpgv), then each `main/binary-<arch>/Packages.xz` whose sha256 InRelease vouches for.
 * The only network access of a base resolution besides the .debs themselves.
 */
export async function resolveIndexes(suite: string, architecture: string, signal?: AbortSignal): Promise<ResolvedIndexes> {
  const resolvedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const indexes: LockedIndex[] = [];
  const byName = new Map<string, (IndexedDeb & { root: string })[]>();
  for (const source of debianSources(suite)) {
    const releaseUrl = `${source.uri}/dists/${source.suite}/InRelease`;
    const release = await get(releaseUrl, MAX_RELEASE_BYTES, signal);
    await checkSignature(releaseUrl, release);
    const path = `main/binary-${architecture}/Packages.xz`;
    const listed = parseReleaseSha256(release.toString('utf8')).get(path);
    if (!listed) throw new AirlockError('BASE_RESOLVE_FAILED', `${releaseUrl} lists no ${path}`, { details: { url: releaseUrl } });
    const packagesUrl = `${source.uri}/dists/${source.suite}/${path}`;
    const xz = await get(packagesUrl, MAX_PACKAGES_XZ_BYTES, signal);
    const got = sha256(xz);
    if (got !== listed.sha256) {
      throw new AirlockError('BASE_RESOLVE_FAILED', `${packagesUrl} hashes to ${got}, its InRelease says ${listed.sha256} (the mirror is mid-update? try again)`, {
        details: { url: packagesUrl },
      });
    }
    indexes.push({ release: releaseUrl, releaseSha256: sha256(release), packages: path, packagesSha256: got });
    const text = (await execa('xz', ['-dc'], { input: xz, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 })).stdout;
    for (const deb of parsePackagesIndex(text)) {
      const list = byName.get(deb.name) ?? [];
      list.push({ ...deb, root: source.uri });
      byName.set(deb.name, list);
    }
  }
  return { suite, architecture, resolvedAt, indexes, byName };
}

/** The lock entry of exactly `name` `version` (`architecture` or `all`), or undefined. */
export function findDeb(idx: ResolvedIndexes, name: string, version: string, architecture: string): LockedDeb | undefined {
  const hit = idx.byName.get(name)?.find((d) => d.version === version && d.architecture === architecture);
  return hit && toLocked(hit);
}

/** The newest version of `name` for the index's architecture across the archives. */
export function newestDeb(idx: ResolvedIndexes, name: string): (LockedDeb & { depends?: string }) | undefined {
  const candidates = (idx.byName.get(name) ?? []).filter((d) => d.architecture === idx.architecture || d.architecture === 'all');
  const newest = candidates.sort((a, b) => compareDebianVersions(b.version, a.version))[0];
  return newest && { ...toLocked(newest), ...(newest.depends ? { depends: newest.depends } : {}) };
}

function toLocked(d: IndexedDeb & { root: string }): LockedDeb {
  return { name: d.name, version: d.version, architecture: d.architecture, filename: d.filename, size: d.size, sha256: d.sha256, url: `${d.root}/${d.filename}` };
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function get(url: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
  try {
    const res = await request(url, { headersTimeout: 30_000, bodyTimeout: 60_000, ...(signal ? { signal } : {}) });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new AirlockError('BASE_RESOLVE_FAILED', `GET ${url}: HTTP ${res.statusCode}`, { details: { url, status: res.statusCode } });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        res.body.destroy();
        throw new AirlockError('BASE_RESOLVE_FAILED', `GET ${url}: larger than ${maxBytes} bytes`, { details: { url } });
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  } catch (e) {
    if (e instanceof AirlockError) throw e;
    throw new AirlockError('BASE_RESOLVE_FAILED', `GET ${url}: ${(e as Error).message}`, { cause: e, details: { url } });
  }
}

async function checkSignature(url: string, release: Buffer): Promise<void> {
  const r = await execa('gpgv', ['--keyring', KEYRING, '-'], { input: release, reject: false });
  if (r.exitCode !== 0) {
    throw new AirlockError('BASE_RESOLVE_FAILED', `${url}: the signature does not verify against ${KEYRING}:\n${r.stderr.trim()}`, { details: { url } });
  }
}
