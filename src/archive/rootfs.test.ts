import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { isAirlockError } from '../errors.js';
import { sha256Digest, sha256Hex } from '../util/digest.js';
import { BUILDAH_MOUNT_POINTS, isDockerInitPath, parseRootfsListing, rootfsListing } from './rootfs.js';
import { makeTar, tarStream, type TarSpec } from './testing/make-tar.js';

const base: TarSpec[] = [
  { name: './', type: 'directory', mode: 0o755 },
  { name: './bin/', type: 'directory', mode: 0o755 },
  { name: './bin/tool', type: 'file', mode: 0o4755, content: 'ELF...', mtime: new Date(1_000_000) },
  { name: './etc/', type: 'directory', mode: 0o755 },
  { name: './etc/config', type: 'file', mode: 0o644, uid: 0, gid: 0, content: 'key=value\n' },
  { name: './etc/link', type: 'symlink', linkname: 'config' },
  { name: './home/user/', type: 'directory', mode: 0o700, uid: 1000, gid: 1000 },
];

async function digestOf(entries: TarSpec[], strict = false, exclude?: (p: string) => boolean): Promise<string> {
  return (await rootfsListing(tarStream(await makeTar(entries)), { strict, exclude })).digest;
}

/** `base` with the entry named `name` changed by `patch`. */
function withEntry(name: string, patch: Partial<TarSpec>): TarSpec[] {
  return base.map((e) => (e.name === name ? { ...e, ...patch } : e));
}

describe('rootfsListing', () => {
  it('produces sorted canonical JSON lines and hashes them', async () => {
    const r = await rootfsListing(tarStream(await makeTar(base)));
    const lines = r.listing.toString().trimEnd().split('\n');
    expect(r.entries).toBe(6);
    expect(lines).toEqual([
      '{"gid":0,"mode":"0755","path":"bin","type":"dir","uid":0}',
      `{"gid":0,"mode":"4755","path":"bin/tool","sha256":"${sha256Hex('ELF...')}","size":6,"type":"file","uid":0}`,
      '{"gid":0,"mode":"0755","path":"etc","type":"dir","uid":0}',
      `{"gid":0,"mode":"0644","path":"etc/config","sha256":"${sha256Hex('key=value\n')}","size":10,"type":"file","uid":0}`,
      '{"gid":0,"mode":"0644","path":"etc/link","target":"config","type":"symlink","uid":0}',
      '{"gid":1000,"mode":"0700","path":"home/user","type":"dir","uid":1000}',
    ]);
    expect(r.digest).toBe(sha256Digest(r.listing));
    expect(parseRootfsListing(r.listing)[1]).toMatchObject({ path: 'bin/tool', type: 'file', size: 6 });
  });

  it('ignores tar order, mtimes, owner names and path spelling unless strict', async () => {
    const shuffled = [...base]
      .reverse()
      .map((e) => ({ ...e, name: e.name.replace(/^\.\//, '/'), mtime: new Date(5_000_000_000), uname: 'someone' }));
    expect(await digestOf(shuffled)).toBe(await digestOf(base));
    expect(await digestOf(shuffled, true)).not.toBe(await digestOf(base, true));
    // strict sees an mtime change alone, and is stable for the same input
    expect(await digestOf(withEntry('./etc/config', { mtime: new Date(2_000_000) }), true)).not.toBe(
      await digestOf(base, true),
    );
    expect(await digestOf(base, true)).toBe(await digestOf(base, true));
  });

  it('changes with a mode, owner, content, symlink target or type change', async () => {
    const d = await digestOf(base);
    const variants: TarSpec[][] = [
      withEntry('./etc/config', { mode: 0o600 }),
      withEntry('./bin/tool', { mode: 0o755 }), // setuid bit dropped
      withEntry('./etc/config', { uid: 1 }),
      withEntry('./etc/config', { gid: 1 }),
      withEntry('./etc/config', { content: 'key=valuE\n' }),
      withEntry('./etc/link', { linkname: '/etc/passwd' }),
      withEntry('./etc/link', { type: 'file', linkname: undefined, content: '' }),
      [...base, { name: './new', type: 'fifo' }],
    ];
    const digests = await Promise.all(variants.map((v) => digestOf(v)));
    for (const x of digests) expect(x).not.toBe(d);
    expect(new Set(digests).size).toBe(digests.length);
  });

  it('normalizes hardlink groups whatever member the tar writer emitted first', async () => {
    const a: TarSpec[] = [
      { name: 'z-file', content: 'same inode', mode: 0o755 },
      { name: 'a-link', type: 'link', linkname: 'z-file', mode: 0o755 },
    ];
    const b: TarSpec[] = [
      { name: 'a-link', content: 'same inode', mode: 0o755 },
      { name: 'z-file', type: 'link', linkname: 'a-link', mode: 0o755 },
    ];
    const ra = await rootfsListing(tarStream(await makeTar(a)));
    expect(ra.digest).toBe((await rootfsListing(tarStream(await makeTar(b)))).digest);
    expect(parseRootfsListing(ra.listing)).toEqual([
      { path: 'a-link', type: 'file', mode: '0755', uid: 0, gid: 0, size: 10, sha256: sha256Hex('same inode') },
      { path: 'z-file', type: 'hardlink', mode: '0755', uid: 0, gid: 0, target: 'a-link' },
    ]);
  });

  it('records devices and xattrs', async () => {
    const r = await rootfsListing(
      tarStream(
        await makeTar([
          { name: 'null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
          { name: 'ping', content: 'x', pax: { 'SCHILY.xattr.security.capability': 'cap', 'SCHILY.xattr.security.selinux': 'ctx' } },
        ]),
      ),
    );
    expect(parseRootfsListing(r.listing)).toEqual([
      { path: 'null', type: 'char', mode: '0666', uid: 0, gid: 0, devmajor: 1, devminor: 3 },
      { path: 'ping', type: 'file', mode: '0644', uid: 0, gid: 0, size: 1, sha256: sha256Hex('x'), xattrs: { 'security.capability': 'cap' } },
    ]);
  });

  it('leaves out what Docker’s init layer adds when asked to', async () => {
    const exported: TarSpec[] = [
      ...base,
      { name: '.dockerenv', content: '' },
      { name: 'dev/', type: 'directory' },
      { name: 'dev/console', content: '' },
      { name: 'dev/pts/', type: 'directory' },
      { name: 'etc/hostname', content: '' },
      { name: 'etc/hosts', content: '' },
      { name: 'etc/resolv.conf', content: '' },
      { name: 'etc/mtab', type: 'symlink', linkname: '/proc/mounts' },
      { name: 'proc/', type: 'directory' },
      { name: 'sys/', type: 'directory' },
    ];
    expect(await digestOf(exported, false, isDockerInitPath)).toBe(await digestOf(base));
    const exportDigest = async (entries: TarSpec[], strict: boolean) =>
      (await rootfsListing(tarStream(await makeTar(entries)), { containerExport: true, strict })).digest;
    expect(await exportDigest(exported, false)).toBe(await digestOf(base));
    // the init layer stamps etc/ with the container's creation time: strict must not see it
    const later = exported.map((e) => (e.name === './etc/' ? { ...e, mtime: new Date(9_000_000_000) } : e));
    expect(await exportDigest(later, true)).toBe(await exportDigest(exported, true));
    expect(await digestOf(later, true, isDockerInitPath)).not.toBe(await digestOf(exported, true, isDockerInitPath));
    expect(await digestOf(exported)).not.toBe(await digestOf(base));
    expect(isDockerInitPath('./etc/hosts')).toBe(true);
    expect(isDockerInitPath('etc/hosts.allow')).toBe(false);
    expect(isDockerInitPath('device')).toBe(false);
    expect(isDockerInitPath('etc')).toBe(false);
  });

  describe('a builder’s mount point (buildah’s `run`)', () => {
    const built = (run: Partial<TarSpec> = {}, more: TarSpec[] = []): TarSpec[] => [...base, { name: './run/', type: 'directory', mode: 0o755, ...run }, ...more];
    const measure = async (entries: TarSpec[], strict = false) =>
      rootfsListing(tarStream(await makeTar(entries)), { containerExport: true, strict, builderMountPoints: BUILDAH_MOUNT_POINTS });

    it('is left out only when bare: empty, 0755, root’s; the same filesystem without it has the same digest', async () => {
      const r = await measure(built({ mtime: new Date(7_000_000_000) }));
      expect(r.builderMountPointsLeftOut).toEqual(['run']);
      expect(r.digest).toBe(await digestOf(base));
      // strict mode too: its creation time is the builder's, not the image's
      expect((await measure(built({ mtime: new Date(7_000_000_000) }), true)).digest).toBe((await measure(base, true)).digest);
    });

    it('is kept, so the digest changes, with anything in it or another mode, owner or xattr', async () => {
      const plain = await digestOf(base);
      const variants: TarSpec[][] = [
        built({}, [{ name: './run/daemon.pid', content: '1\n' }]),
        built({}, [{ name: './run/lock/', type: 'directory', mode: 0o755 }]),
        built({}, [{ name: './run/.hidden', type: 'symlink', linkname: '/etc/passwd' }]),
        built({ mode: 0o1777 }),
        built({ mode: 0o700 }),
        built({ uid: 65534 }),
        built({ gid: 100 }),
        built({ pax: { 'SCHILY.xattr.user.note': 'x' } }),
        built({ type: 'file', content: '' }),
      ];
      const digests = [];
      for (const v of variants) {
        const r = await measure(v);
        expect(r.builderMountPointsLeftOut, JSON.stringify(v.at(-1))).toEqual([]);
        expect(r.digest).toBe(await digestOf(v, false, isDockerInitPath));
        digests.push(r.digest);
      }
      for (const d of digests) expect(d).not.toBe(plain);
      expect(new Set(digests).size).toBe(digests.length);
    });

    it('is kept unless the caller names it: Docker’s measurements are unchanged', async () => {
      const r = await rootfsListing(tarStream(await makeTar(built())), { containerExport: true });
      expect(r.builderMountPointsLeftOut).toEqual([]);
      expect(parseRootfsListing(r.listing).map((e) => e.path)).toContain('run');
      expect(r.digest).not.toBe(await digestOf(base));
      expect(BUILDAH_MOUNT_POINTS).toEqual(['run']);
    });
  });

  it('refuses a malformed tar with ARCHIVE_UNSAFE and passes source errors through', async () => {
    const tar = await makeTar(base);
    const truncated = rootfsListing(tarStream(tar.subarray(0, 700)));
    await expect(truncated).rejects.toSatisfy((e) => isAirlockError(e, 'ARCHIVE_UNSAFE'));

    const broken = new Readable({ read() {} });
    broken.push(tar.subarray(0, 512));
    setTimeout(() => broken.destroy(new Error('engine went away')), 10);
    await expect(rootfsListing(broken)).rejects.toThrow('engine went away');
  });
});
