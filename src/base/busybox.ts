import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { forEachTarEntry } from '../archive/tar-read.js';
import { AirlockError } from '../errors.js';
import type { Cas } from '../store/cas.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { debDigest } from './debs.js';
import type { LockedDeb } from './lock.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';
/** busybox-static's static binary inside its .deb */
const BUSYBOX_IN_DEB = 'bin/busybox';
const MAX_BUSYBOX_BYTES = 16 * 1024 * 1024;

/** One file out of a .deb kept in the CAS (its data tar, through dpkg-deb). */
export async function fileFromDeb(cas: Cas, deb: LockedDeb, path: string, maxBytes: number): Promise<Buffer> {
  const { execa } = await import('execa');
  const child = execa('dpkg-deb', ['--fsys-tarfile', cas.pathOf(debDigest(deb))], { buffer: false, stdout: 'pipe' });
  let found: Buffer | undefined;
  await forEachTarEntry(child.stdout, async (header, body) => {
    // the rest of an entry not read is drained by forEachTarEntry
    if (header.name.replace(/^\.?\//, '') !== path || header.type !== 'file' || (header.size ?? 0) > maxBytes) return;
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    found = Buffer.concat(chunks);
  });
  await child;
  if (found === undefined) throw new AirlockError('BASE_BUILD_FAILED', `${deb.name} ${deb.version} has no ${path}`, { details: { package: deb.name } });
  return found;
}

/** The static busybox inside a busybox-static .deb kept in the CAS. */
export function busyboxFromDeb(cas: Cas, deb: LockedDeb): Promise<Buffer> {
  return fileFromDeb(cas, deb, BUSYBOX_IN_DEB, MAX_BUSYBOX_BYTES);
}

/** The static busybox of the locked busybox-static .deb, checked against the lock's digest. */
async function lockedBusyboxBinary(cas: Cas, deb: LockedDeb, binary: Digest): Promise<Buffer> {
  const bytes = await busyboxFromDeb(cas, deb);
  const got = sha256Digest(bytes);
  if (got !== binary) {
    throw new AirlockError('BASE_LOCK_MISMATCH', `/${BUSYBOX_IN_DEB} of ${deb.name} ${deb.version} hashes to ${got}, the lock says ${binary}`, { details: { package: deb.name } });
  }
  return bytes;
}

/**
 * The locked busybox as an executable file (`<cas>/helpers/busybox-<hex>`, mode 0555): what
 * every cell mounts as its helper and the VM guest gets at /.airlock/busybox. Made once.
 */
export async function lockedBusyboxPath(cas: Cas, deb: LockedDeb, binary: Digest): Promise<string> {
  const dir = join(cas.root, 'helpers');
  const path = join(dir, `busybox-${binary.slice('sha256:'.length)}`);
  if (await stat(path).then((s) => s.isFile(), () => false)) return path;
  const bytes = await lockedBusyboxBinary(cas, deb, binary);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  await writeFile(tmp, bytes, { mode: 0o555 });
  await chmod(tmp, 0o555);
  await rename(tmp, path);
  return path;
}

/**
 * Writes the rootfs of `airlock/busybox` (FROM scratch + the locked static busybox, its
 * applets as symlinks, a passwd with nobody) as a tar with fixed times and owners, so the
 * same .deb always gives the same bytes.
 */
export async function writeBusyboxRootfs(busyboxPath: string, destTar: string): Promise<void> {
  const { execa } = await import('execa');
  const binary = await readFile(busyboxPath);
  const applets = (await execa(busyboxPath, ['--list-full'])).stdout.split('\n').filter((l) => l !== '' && l !== BUSYBOX_IN_DEB);

  type Entry = { name: string; type: 'directory' | 'file' | 'symlink'; mode: number; body?: Buffer; linkname?: string };
  const entries = new Map<string, Entry>();
  const dir = (name: string, mode = 0o755) => entries.set(name, { name, type: 'directory', mode });
  for (const d of ['bin', 'etc', 'home', 'sbin', 'usr', 'usr/bin', 'usr/local', 'usr/local/bin', 'usr/sbin', 'var']) dir(d);
  dir('root', 0o700);
  dir('tmp', 0o1777);
  entries.set(BUSYBOX_IN_DEB, { name: BUSYBOX_IN_DEB, type: 'file', mode: 0o755, body: binary });
  entries.set('etc/passwd', { name: 'etc/passwd', type: 'file', mode: 0o644, body: Buffer.from(PASSWD) });
  entries.set('etc/group', { name: 'etc/group', type: 'file', mode: 0o644, body: Buffer.from(GROUP) });
  for (const applet of applets) entries.set(applet, { name: applet, type: 'symlink', mode: 0o777, linkname: '/bin/busybox' });

  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(destTar));
  for (const name of [...entries.keys()].sort()) {
    const e = entries.get(name)!;
    const header = { name: e.type === 'directory' ? `${name}/` : name, type: e.type, mode: e.mode, mtime: new Date(0), uid: 0, gid: 0 };
    if (e.type === 'file') pack.entry({ ...header, size: e.body!.length }, e.body!);
    else if (e.type === 'symlink') pack.entry({ ...header, linkname: e.linkname! });
    else pack.entry(header);
  }
  pack.finalize();
  await done;
}
