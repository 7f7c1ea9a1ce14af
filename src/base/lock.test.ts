import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASE_LOCK_VERSION, diffPackages, readBaseLock, writeBaseLock, type BaseLock, type LockedDeb } from './lock.js';

const hex = (c: string) => c.repeat(64);
const deb = (name: string, version: string, sha = 'a'): LockedDeb => ({
  name,
  version,
  architecture: 'amd64',
  filename: `pool/main/${name[0]}/${name}/${name}_${version}_amd64.deb`,
  size: 100,
  sha256: hex(sha),
  url: `http://deb.debian.org/debian/pool/main/${name[0]}/${name}/${name}_${version}_amd64.deb`,
});

const validLock = (): BaseLock => ({
  lockVersion: BASE_LOCK_VERSION,
  bases: {
    'airlock/debian:bookworm': {
      kind: 'debian',
      suite: 'bookworm',
      architecture: 'amd64',
      resolvedAt: '2026-12-01T10:00:00Z',
      indexes: [{ release: 'http://deb.debian.org/debian/dists/bookworm/InRelease', releaseSha256: hex('1'), packages: 'main/binary-amd64/Packages.xz', packagesSha256: hex('2') }],
      variant: 'minbase',
      include: [],
      sourceDateEpoch: 1686355200,
      packages: [deb('bash', '5.2.15-2+b7')],
      rootfsDigest: `sha256:${hex('3')}`,
      entries: 10,
      listing: `sha256:${hex('4')}`,
    },
  },
});

async function write(json: unknown): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'airlock-lock-')), 'base-images.lock.json');
  await writeFile(file, typeof json === 'string' ? json : JSON.stringify(json));
  return file;
}

describe('base lock', () => {
  it('round-trips, keys sorted', async () => {
    const file = await write(validLock());
    const lock = await readBaseLock(file);
    lock.bases['airlock/a:1'] = lock.bases['airlock/debian:bookworm']!;
    await writeBaseLock(file, lock);
    const text = await readFile(file, 'utf8');
    expect(Object.keys(JSON.parse(text).bases)).toEqual(['airlock/a:1', 'airlock/debian:bookworm']);
    expect(await readBaseLock(file)).toEqual(lock);
  });

  it('an absent lock is empty; broken JSON names the file', async () => {
    expect((await readBaseLock('/nonexistent/lock.json')).bases).toEqual({});
    await expect(readBaseLock(await write('{'))).rejects.toMatchObject({ code: 'BASE_LOCK_INVALID', message: expect.stringContaining('is not JSON') });
  });

  it('lists every problem with its JSON path', async () => {
    const lock = validLock() as unknown as { bases: Record<string, { packages: Record<string, unknown>[]; rootfsDigest: string }> };
    const entry = lock.bases['airlock/debian:bookworm']!;
    entry.packages[0]!.sha256 = 'XYZ';
    entry.packages[0]!.filename = '/etc/passwd';
    entry.rootfsDigest = 'md5:1';
    const error = await readBaseLock(await write(lock)).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'BASE_LOCK_INVALID' });
    expect(error.message).toContain('bases.airlock/debian:bookworm.packages.0.sha256: expected 64 lowercase hex digits');
    expect(error.message).toContain('bases.airlock/debian:bookworm.packages.0.filename: expected a pool/…/.deb path');
    expect(error.message).toContain('bases.airlock/debian:bookworm.rootfsDigest');
  });

  it('a lock of the old format (versions only) says how to get the new one', async () => {
    const error = await readBaseLock(await write({ lockVersion: 1, images: {} })).catch((e: unknown) => e as Error);
    expect(error.message).toContain('run `airlock base update`');
  });

  it('refuses unknown keys (a typo is not silently ignored)', async () => {
    const lock = validLock() as unknown as { bases: Record<string, Record<string, unknown>> };
    lock.bases['airlock/debian:bookworm']!.pakages = [];
    await expect(readBaseLock(await write(lock))).rejects.toMatchObject({ code: 'BASE_LOCK_INVALID' });
  });
});

describe('diffPackages', () => {
  it('says what was added, removed and changed, then the new digest', () => {
    const before = { packages: [deb('bash', '5.2.15-2+b2'), deb('gone', '1'), deb('same', '1'), deb('rebuilt', '1', 'a')], rootfsDigest: `sha256:${hex('1')}` };
    const after = { packages: [deb('bash', '5.2.15-2+b7'), deb('new', '2'), deb('same', '1'), deb('rebuilt', '1', 'b')], rootfsDigest: `sha256:${hex('2')}` };
    expect(diffPackages('r', before, after)).toEqual([
      'r: 4 package change(s)',
      '  ~ bash 5.2.15-2+b2 -> 5.2.15-2+b7',
      '  - gone 1',
      '  + new 2',
      `  ~ rebuilt 1: file sha256 ${hex('a').slice(0, 12)} -> ${hex('b').slice(0, 12)}`,
      `  rootfs sha256:${hex('1')} -> sha256:${hex('2')}`,
    ]);
  });

  it('says unchanged when nothing moved, and new for a first lock', () => {
    const same = { packages: [deb('a', '1')], rootfsDigest: `sha256:${hex('1')}` };
    expect(diffPackages('r', same, same)).toEqual(['r: unchanged']);
    expect(diffPackages('r', undefined, same)[0]).toBe('r: new, 1 packages');
  });
});
