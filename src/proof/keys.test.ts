import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import nacl from 'tweetnacl';
import { naclSecretKey } from './testing/nacl.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../util/digest.js';
import {
  defaultKeyPath,
  generateSigningKey,
  keyIdOf,
  loadSigningKey,
  loadTrustedKeyFile,
  loadTrustedKeys,
  publicKeyFromPem,
  publicKeyToPem,
  signingKeyFromPem,
  signingKeyFromSeed,
  publicKeyPath,
  signingKeyToPem,
  trustedKeyIds,
  writeKeyPair,
  writePublicKey,
} from './keys.js';

const DATA = Buffer.from('some bytes to sign');

describe('PEM encodings', () => {
  const key = generateSigningKey();

  it('round-trips both keys', () => {
    expect(publicKeyFromPem(publicKeyToPem(key))).toEqual({ keyid: key.keyid, publicKey: key.publicKey });
    const back = signingKeyFromPem(signingKeyToPem(key));
    expect(back.seed).toEqual(key.seed);
    expect(back.keyid).toBe(key.keyid);
  });

  it('Node verifies a tweetnacl signature with our public PEM', () => {
    const sig = nacl.sign.detached(DATA, naclSecretKey(key));
    expect(nodeVerify(null, DATA, createPublicKey(publicKeyToPem(key)), sig)).toBe(true);
  });

  it('Node loads our private PEM, and its signature verifies with tweetnacl', () => {
    const privateKey = createPrivateKey(signingKeyToPem(key));
    expect(privateKey.asymmetricKeyType).toBe('ed25519');
    const sig = nodeSign(null, DATA, privateKey);
    expect(nacl.sign.detached.verify(DATA, sig, key.publicKey)).toBe(true);
  });

  it('derives the public key tweetnacl derives from a seed (RFC 8032 test vector and random seeds)', () => {
    // RFC 8032 7.1, TEST 1
    const rfc = signingKeyFromSeed(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'));
    expect(Buffer.from(rfc.publicKey).toString('hex')).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    for (let i = 0; i < 8; i++) {
      const k = generateSigningKey();
      expect(k.publicKey).toEqual(nacl.sign.keyPair.fromSeed(k.seed).publicKey);
      expect(naclSecretKey(k)).toEqual(nacl.sign.keyPair.fromSeed(k.seed).secretKey);
    }
  });

  it('reads keys Node generated, with keyid = sha256 of the SPKI DER', () => {
    const pair = generateKeyPairSync('ed25519');
    const pub = publicKeyFromPem(pair.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    expect(pub.keyid).toBe(sha256Hex(pair.publicKey.export({ type: 'spki', format: 'der' })));
    expect(keyIdOf(pub.publicKey)).toBe(pub.keyid);
    const signing = signingKeyFromPem(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    expect(signing.keyid).toBe(pub.keyid);
  });

  it.each([
    ['garbage', 'hello'],
    ['a private key where a public one is expected', signingKeyToPem(key)],
    ['a truncated body', publicKeyToPem(key).replace(/\n([^\n-]{40})[^\n]*\n/, '\n$1\n')],
    ['an RSA key', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string],
  ])('KEY_INVALID on %s', (_, pem) => {
    expect(() => publicKeyFromPem(pem, 'test.pem')).toThrow(expect.objectContaining({ code: 'KEY_INVALID' }));
  });

  it('never puts key bytes in an error message', () => {
    const pem = signingKeyToPem(key);
    const broken = pem.replace('PRIVATE KEY', 'PUBLIC KEY').replace('PRIVATE KEY', 'PUBLIC KEY');
    let message = '';
    try {
      publicKeyFromPem(broken);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/not a valid/);
    expect(message).not.toContain(Buffer.from(key.seed).toString('base64').slice(0, 12));
    expect(message).not.toContain(Buffer.from(key.seed).toString('hex').slice(0, 12));
  });

  it('keeps the seed out of JSON and inspect output', () => {
    const seedHex = Buffer.from(key.seed).toString('hex');
    expect(JSON.stringify(key)).not.toContain(seedHex);
    expect(JSON.stringify(key)).toContain(key.keyid);
    expect(inspect(key)).not.toMatch(/Uint8Array/);
  });
});

describe('key files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlock-keys-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('defaultKeyPath follows XDG_CONFIG_HOME, else ~/.config', () => {
    expect(defaultKeyPath({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/h' })).toBe('/x/cfg/airlock/signing.key');
    expect(defaultKeyPath({ HOME: '/h' })).toBe('/h/.config/airlock/signing.key');
    expect(defaultKeyPath({ XDG_CONFIG_HOME: 'relative', HOME: '/h' })).toBe('/h/.config/airlock/signing.key');
  });

  it('writes the private key 0600 in a 0700 dir and the public key under locks/keys', async () => {
    const key = generateSigningKey();
    const locksDir = join(dir, 'project', 'locks');
    const paths = await writeKeyPair(key, { privatePath: join(dir, 'config', 'airlock', 'signing.key'), locksDir });
    expect((await stat(paths.privatePath)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'config', 'airlock'))).mode & 0o777).toBe(0o700);
    expect(paths.publicPath).toBe(join(locksDir, 'keys', `${key.keyid}.pub.pem`));
    expect(await readdir(join(dir, 'config', 'airlock'))).toEqual(['signing.key']); // no temp file left
    expect(await loadSigningKey({ AIRLOCK_SIGNING_KEY: paths.privatePath })).toMatchObject({ keyid: key.keyid });

    const publicText = await readFile(paths.publicPath, 'utf8');
    const privateBody = signingKeyToPem(key).split('\n')[1]!;
    expect(publicText).not.toContain('PRIVATE');
    expect(publicText).not.toContain(privateBody.slice(-20));
    expect(publicText).not.toContain(Buffer.from(key.seed).toString('base64').slice(0, 16));
    expect(await loadTrustedKeys(locksDir)).toEqual([{ keyid: key.keyid, publicKey: key.publicKey }]);
  });

  it('refuses to write the private key inside locksDir, even through a symlink', async () => {
    const locksDir = join(dir, 'locks');
    await mkdir(locksDir);
    await symlink(locksDir, join(dir, 'sneaky'));
    for (const privatePath of [join(locksDir, 'signing.key'), join(locksDir, 'keys', 'x.key'), join(dir, 'sneaky', 'k')]) {
      await expect(writeKeyPair(generateSigningKey(), { privatePath, locksDir })).rejects.toMatchObject({ code: 'USAGE' });
    }
    expect(await readdir(locksDir)).toEqual([]);
  });

  it('does not overwrite an existing private key unless forced', async () => {
    const privatePath = join(dir, 'k', 'signing.key');
    const locksDir = join(dir, 'locks');
    await writeKeyPair(generateSigningKey(), { privatePath, locksDir });
    const second = generateSigningKey();
    await expect(writeKeyPair(second, { privatePath, locksDir })).rejects.toMatchObject({ code: 'USAGE' });
    await writeKeyPair(second, { privatePath, locksDir, force: true });
    expect((await loadSigningKey({ AIRLOCK_SIGNING_KEY: privatePath })).keyid).toBe(second.keyid);
  });

  it('loadSigningKey: default path, KEY_MISSING with advice, KEY_INVALID on garbage', async () => {
    const env = { XDG_CONFIG_HOME: join(dir, 'cfg'), HOME: dir };
    const missing = loadSigningKey(env);
    await expect(missing).rejects.toMatchObject({ code: 'KEY_MISSING' });
    await expect(loadSigningKey(env)).rejects.toThrow(/airlock keygen.*AIRLOCK_SIGNING_KEY/);

    const key = generateSigningKey();
    await writeKeyPair(key, { privatePath: defaultKeyPath(env), locksDir: join(dir, 'locks') });
    expect((await loadSigningKey(env)).keyid).toBe(key.keyid);

    const garbage = join(dir, 'garbage.key');
    await writeFile(garbage, 'not a key');
    await expect(loadSigningKey({ ...env, AIRLOCK_SIGNING_KEY: garbage })).rejects.toMatchObject({ code: 'KEY_INVALID' });
  });

  it('loadTrustedKeys: none without keys/, refuses a file named for another key', async () => {
    expect(await loadTrustedKeys(join(dir, 'locks'))).toEqual([]);
    const a = generateSigningKey();
    const b = generateSigningKey();
    await mkdir(join(dir, 'locks', 'keys'), { recursive: true });
    await writeFile(join(dir, 'locks', 'keys', `${a.keyid}.pub.pem`), publicKeyToPem(b));
    await expect(loadTrustedKeys(join(dir, 'locks'))).rejects.toMatchObject({ code: 'TRUSTED_KEY_INVALID', exitCode: 7 });
  });

  it('a trusted key file overwritten with garbage is a verification failure (exit 7), not a signing-key error (exit 9)', async () => {
    const key = generateSigningKey();
    const keysDir = join(dir, 'garbage-locks', 'keys');
    await mkdir(keysDir, { recursive: true });
    await writeFile(join(keysDir, `${key.keyid}.pub.pem`), 'garbage\n');
    await expect(loadTrustedKeys(join(dir, 'garbage-locks'))).rejects.toMatchObject({ code: 'TRUSTED_KEY_INVALID', exitCode: 7 });
    await expect(loadTrustedKeyFile(join(keysDir, `${key.keyid}.pub.pem`))).rejects.toMatchObject({ code: 'TRUSTED_KEY_INVALID', exitCode: 7 });
    await expect(loadTrustedKeyFile(join(dir, 'no-such.pem'))).rejects.toMatchObject({ code: 'TRUSTED_KEY_INVALID' });
    await expect(loadTrustedKeyFile('/dev/zero')).rejects.toMatchObject({ code: 'TRUSTED_KEY_INVALID' });
  });
});

describe('writePublicKey: the one writer of locks/keys/', () => {
  it('writes <keyid>.pub.pem, and leaves a file already holding those bytes untouched', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-pub-'));
    const locksDir = join(dir, 'locks');
    const key = generateSigningKey();
    const first = await writePublicKey(key, locksDir);
    expect(first).toEqual({ path: publicKeyPath(locksDir, key.keyid), written: true });
    expect(await readFile(first.path, 'utf8')).toBe(publicKeyToPem(key));
    const before = (await stat(first.path)).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    expect(await writePublicKey(key, locksDir)).toEqual({ path: first.path, written: false });
    expect((await stat(first.path)).mtimeMs).toBe(before);
    expect(await trustedKeyIds(locksDir)).toEqual([key.keyid]);
    expect(await trustedKeyIds(join(dir, 'nowhere'))).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });
});
