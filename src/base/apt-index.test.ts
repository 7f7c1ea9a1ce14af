import { describe, expect, it } from 'vitest';
import { compareDebianVersions, parseDpkgStatus, parsePackagesIndex, parseReleaseSha256 } from './apt-index.js';

const HEX = (c: string) => c.repeat(64);

describe('parsePackagesIndex', () => {
  it('reads name, version, architecture, file, size and sha256 of each stanza, multi-line fields included', () => {
    const text = [
      'Package: bash',
      'Version: 5.2.15-2+b7',
      'Architecture: amd64',
      'Depends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)',
      'Description: GNU Bourne Again SHell',
      ' Bash is an sh-compatible command language interpreter.',
      ' .',
      ' More text.',
      'Filename: pool/main/b/bash/bash_5.2.15-2+b7_amd64.deb',
      'Size: 1491220',
      `SHA256: ${HEX('a')}`,
      '',
      'Package: adduser',
      'Version: 3.134',
      'Architecture: all',
      'Filename: pool/main/a/adduser/adduser_3.134_all.deb',
      'Size: 183272',
      `SHA256: ${HEX('b')}`,
      '',
    ].join('\n');
    expect(parsePackagesIndex(text)).toEqual([
      { name: 'bash', version: '5.2.15-2+b7', architecture: 'amd64', filename: 'pool/main/b/bash/bash_5.2.15-2+b7_amd64.deb', size: 1491220, sha256: HEX('a'), depends: 'base-files (>= 2.1.12), debianutils (>= 5.6-0.1)' },
      { name: 'adduser', version: '3.134', architecture: 'all', filename: 'pool/main/a/adduser/adduser_3.134_all.deb', size: 183272, sha256: HEX('b') },
    ]);
  });

  it('skips stanzas without a usable file, size or sha256 instead of inventing them', () => {
    const text = 'Package: a\nVersion: 1\nArchitecture: all\nFilename: pool/a.deb\nSize: x\nSHA256: ' + HEX('c') + '\n\nPackage: b\nVersion: 1\nArchitecture: all\nFilename: pool/b.deb\nSize: 3\nSHA256: ABC\n';
    expect(parsePackagesIndex(text)).toEqual([]);
  });

  it('handles CRLF line ends and a last stanza without a trailing blank line', () => {
    const text = `Package: z\r\nVersion: 2\r\nArchitecture: amd64\r\nFilename: pool/z.deb\r\nSize: 9\r\nSHA256: ${HEX('d')}`;
    expect(parsePackagesIndex(text)).toHaveLength(1);
  });
});

describe('parseReleaseSha256', () => {
  it('reads the SHA256 table of a clearsigned InRelease, not the MD5 one', () => {
    const text = [
      '-----BEGIN PGP SIGNED MESSAGE-----',
      'Hash: SHA512',
      '',
      'Origin: Debian',
      'Codename: bookworm',
      'MD5Sum:',
      ` ${'0'.repeat(32)}  8790396 main/binary-amd64/Packages.xz`,
      'SHA256:',
      ` ${HEX('e')}  8790396 main/binary-amd64/Packages.xz`,
      ` ${HEX('f')}      123 main/binary-arm64/Release`,
      '-----BEGIN PGP SIGNATURE-----',
      '',
      'abc',
      '-----END PGP SIGNATURE-----',
    ].join('\n');
    const table = parseReleaseSha256(text);
    expect(table.get('main/binary-amd64/Packages.xz')).toEqual({ sha256: HEX('e'), size: 8790396 });
    expect(table.get('main/binary-arm64/Release')).toEqual({ sha256: HEX('f'), size: 123 });
    expect(table.size).toBe(2);
  });
});

describe('parseDpkgStatus', () => {
  it('lists installed packages only, sorted by name', () => {
    const text = 'Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13\n\nPackage: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1\n\nPackage: apt\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.6.1\n';
    expect(parseDpkgStatus(text)).toEqual([
      { name: 'apt', version: '2.6.1', architecture: 'amd64' },
      { name: 'zlib1g', version: '1:1.2.13', architecture: 'amd64' },
    ]);
  });
});

describe('compareDebianVersions', () => {
  // pairs from dpkg's own test suite (lib/dpkg/t/t-version.c) and deb-version(7)
  it.each([
    ['1.0', '1.0', 0],
    ['1.0', '1.1', -1],
    ['1.10', '1.9', 1],
    ['1:1.0', '2.0', 1],
    ['1.0~rc1', '1.0', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0-1', '1.0-2', -1],
    ['1.0-1', '1.0', 1],
    ['1.0a', '1.0', 1],
    ['1.0a', '1.0+', -1],
    ['1.2.3-1+deb12u2', '1.2.3-1+deb12u10', -1],
    ['6.1.158-1', '6.1.192-2', -1],
    ['0001', '1', 0],
  ])('%s vs %s → %i', (a, b, want) => {
    expect(Math.sign(compareDebianVersions(a, b)) + 0).toBe(want);
    expect(Math.sign(compareDebianVersions(b, a)) + 0).toBe(want === 0 ? 0 : -want);
  });
});
