import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import tar from 'tar-stream';
import { sha256Digest } from '../util/digest.js';
import { requirePackage } from './host-tools.js';

/** The static busybox of Debian's busybox-static: the base's only program and every cell's helper. */
export const HOST_BUSYBOX = '/bin/busybox';

export type BusyboxSource = {
  kind: 'busybox-static';
  packages: Record<string, string>;
  binary: string;
};

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';

/**
 * Writes the rootfs of `airlock/busybox` (FROM scratch + static busybox, its
 * applets as symlinks, a passwd with nobody) as a tar with fixed times and
 * owners, so the same package version always gives the same bytes.
 */
export async function writeBusyboxRootfs(destTar: string): Promise<BusyboxSource> {
  const version = await requirePackage('busybox-static', 'to make the airlock/busybox base image');
  const binary = await readFile(HOST_BUSYBOX);
  const applets = (await execa(HOST_BUSYBOX, ['--list-full'])).stdout.split('\n').filter((l) => l !== '' && l !== 'bin/busybox');

  type Entry = { name: string; type: 'directory' | 'file' | 'symlink'; mode: number; body?: Buffer; linkname?: string };
  const entries = new Map<string, Entry>();
  const dir = (name: string, mode = 0o755) => entries.set(name, { name, type: 'directory', mode });
  for (const d of ['bin', 'etc', 'home', 'sbin', 'usr', 'usr/bin', 'usr/local', 'usr/local/bin', 'usr/sbin', 'var']) dir(d);
  dir('root', 0o700);
  dir('tmp', 0o1777);
  entries.set('bin/busybox', { name: 'bin/busybox', type: 'file', mode: 0o755, body: binary });
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
  return { kind: 'busybox-static', packages: { 'busybox-static': version }, binary: sha256Digest(binary) };
}
