import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSigningKey, loadTrustedKeys, publicKeyToPem } from './keys.js';
import { decideTrust, trustOnFirstUse } from './trust.js';

describe('decideTrust', () => {
  it('trusts a key the project names, whatever else it trusts', () => {
    expect(decideTrust('a', ['a'])).toBe('trusted');
    expect(decideTrust('a', ['b', 'a'])).toBe('trusted');
  });

  it('adds a key only to a project that trusts none yet', () => {
    expect(decideTrust('a', [])).toBe('first-use');
    expect(decideTrust('a', ['b'])).toBe('untrusted');
  });
});

describe('trustOnFirstUse', () => {
  let locksDir: string;
  beforeEach(async () => {
    locksDir = join(await mkdtemp(join(tmpdir(), 'airlock-trust-')), 'locks');
  });
  afterEach(() => rm(join(locksDir, '..'), { recursive: true, force: true }));

  it('first use (no locks/keys/ at all) writes the public key where keygen writes it', async () => {
    const key = generateSigningKey();
    const path = join(locksDir, 'keys', `${key.keyid}.pub.pem`);
    expect(await trustOnFirstUse(key, locksDir)).toEqual({ keyid: key.keyid, status: 'added', path });
    expect(await loadTrustedKeys(locksDir)).toEqual([{ keyid: key.keyid, publicKey: key.publicKey }]);
    // the second time it is simply trusted
    expect(await trustOnFirstUse(key, locksDir)).toMatchObject({ status: 'trusted' });
  });

  it('an empty locks/keys/ is first use too', async () => {
    await mkdir(join(locksDir, 'keys'), { recursive: true });
    await writeFile(join(locksDir, 'keys', 'README'), 'not a key');
    expect(await trustOnFirstUse(generateSigningKey(), locksDir)).toMatchObject({ status: 'added' });
  });

  it('never adds a key to a project that trusts another one', async () => {
    const other = generateSigningKey();
    await mkdir(join(locksDir, 'keys'), { recursive: true });
    await writeFile(join(locksDir, 'keys', `${other.keyid}.pub.pem`), publicKeyToPem(other));
    const key = generateSigningKey();
    expect(await trustOnFirstUse(key, locksDir)).toEqual({ keyid: key.keyid, status: 'untrusted', path: join(locksDir, 'keys', `${key.keyid}.pub.pem`) });
    expect(await readdir(join(locksDir, 'keys'))).toEqual([`${other.keyid}.pub.pem`]);
  });

  it('a broken trusted key file still counts as the project’s choice: nothing is added, verify names the file', async () => {
    await mkdir(join(locksDir, 'keys'), { recursive: true });
    await writeFile(join(locksDir, 'keys', `${'0'.repeat(64)}.pub.pem`), 'garbage');
    expect(await trustOnFirstUse(generateSigningKey(), locksDir)).toMatchObject({ status: 'untrusted' });
    expect(await readFile(join(locksDir, 'keys', `${'0'.repeat(64)}.pub.pem`), 'utf8')).toBe('garbage');
  });
});
