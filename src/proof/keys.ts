import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { AirlockError, isAirlockError } from '../errors.js';
import { readBounded } from '../util/bounded-read.js';
import { sha256Hex } from '../util/digest.js';
import { writeFileAtomic } from './atomic-write.js';

/** Trust material: an Ed25519 public key and its id (hex sha256 of the SPKI DER). */
export interface PublicKey {
  readonly keyid: string;
  /** raw 32-byte Ed25519 public key */
  readonly publicKey: Uint8Array;
}

/** An Ed25519 signing key. Never serialized except by {@link signingKeyToPem}. */
export interface SigningKey extends PublicKey {
  /** the 32-byte private seed */
  readonly seed: Uint8Array;
}

// DER prefixes of the only two encodings airlock reads and writes (RFC 8410).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const KEY_BYTES = 32;
const PUBLIC_LABEL = 'PUBLIC KEY';
const PRIVATE_LABEL = 'PRIVATE KEY';
const PUBLIC_SUFFIX = '.pub.pem';

export function keyIdOf(publicKey: Uint8Array): string {
  return sha256Hex(spkiDer(publicKey));
}

export function signingKeyFromSeed(seed: Uint8Array): SigningKey {
  if (seed.length !== KEY_BYTES) throw new AirlockError('KEY_INVALID', `an Ed25519 seed has ${KEY_BYTES} bytes`);
  // OpenSSL derives the public key (well under 1 ms; tweetnacl's cold JavaScript took ~100 ms of every run)
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length));
  const key = { seed: Uint8Array.from(seed), publicKey, keyid: keyIdOf(publicKey) };
  // Keep the seed out of logs, JSON and console output by accident.
  const redacted = () => ({ keyid: key.keyid, seed: '[redacted]' });
  Object.defineProperty(key, 'toJSON', { value: redacted, enumerable: false });
  Object.defineProperty(key, Symbol.for('nodejs.util.inspect.custom'), { value: redacted, enumerable: false });
  return key;
}

export function generateSigningKey(): SigningKey {
  return signingKeyFromSeed(randomBytes(KEY_BYTES));
}

/** The key as OpenSSL signs with it (node:crypto). */
export function privateKeyObject(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

// ---------------------------------------------------------------- PEM

export function publicKeyToPem(key: Uint8Array | PublicKey): string {
  return toPem(PUBLIC_LABEL, spkiDer(key instanceof Uint8Array ? key : key.publicKey));
}

/** Reads a PEM "PUBLIC KEY" (SPKI) holding an Ed25519 key; `source` names it in errors. */
export function publicKeyFromPem(pem: string, source = 'public key'): PublicKey {
  const publicKey = fromPem(pem, PUBLIC_LABEL, SPKI_PREFIX, source);
  return { keyid: keyIdOf(publicKey), publicKey };
}

export function signingKeyToPem(key: SigningKey): string {
  return toPem(PRIVATE_LABEL, Buffer.concat([PKCS8_PREFIX, key.seed]));
}

/** Reads a PEM "PRIVATE KEY" (PKCS#8) holding an Ed25519 seed; `source` names it in errors. */
export function signingKeyFromPem(pem: string, source = 'signing key'): SigningKey {
  return signingKeyFromSeed(fromPem(pem, PRIVATE_LABEL, PKCS8_PREFIX, source));
}

/** The SPKI DER of a raw Ed25519 public key (what the keyid hashes and PEM wraps). */
export function spkiDer(publicKey: Uint8Array): Buffer {
  if (publicKey.length !== KEY_BYTES) throw new AirlockError('KEY_INVALID', `an Ed25519 public key has ${KEY_BYTES} bytes`);
  return Buffer.concat([SPKI_PREFIX, publicKey]);
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

// Messages name the source and the reason only: never any bytes of the key.
function fromPem(pem: string, label: string, prefix: Buffer, source: string): Uint8Array {
  const bad = (reason: string) =>
    new AirlockError('KEY_INVALID', `${source} is not a valid Ed25519 ${label}: ${reason}`, { details: { source } });
  const blocks = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \1-----/g)];
  if (blocks.length !== 1) throw bad(blocks.length === 0 ? 'no PEM block' : 'more than one PEM block');
  const [, found, body = ''] = blocks[0]!;
  if (found !== label) throw bad(`found a ${found} block`);
  const b64 = body.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw bad('body is not base64');
  const der = Buffer.from(b64, 'base64');
  if (der.length !== prefix.length + KEY_BYTES || !der.subarray(0, prefix.length).equals(prefix)) {
    throw bad('not an Ed25519 key in the expected DER encoding');
  }
  return Uint8Array.from(der.subarray(prefix.length));
}

// ---------------------------------------------------------------- files

/** `$XDG_CONFIG_HOME/airlock/signing.key`, else `~/.config/airlock/signing.key`. */
export function defaultKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  const configHome = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config');
  return join(configHome, 'airlock', 'signing.key');
}

/** The signing key from `$AIRLOCK_SIGNING_KEY` (a file path), else from {@link defaultKeyPath}. */
export async function loadSigningKey(env: NodeJS.ProcessEnv = process.env): Promise<SigningKey> {
  const fromEnv = env.AIRLOCK_SIGNING_KEY;
  const path = fromEnv ? resolve(fromEnv) : defaultKeyPath(env);
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    const origin = fromEnv ? ' (from AIRLOCK_SIGNING_KEY)' : '';
    throw new AirlockError(
      'KEY_MISSING',
      `no signing key at ${path}${origin} (${reason}): run \`airlock keygen\` or set AIRLOCK_SIGNING_KEY to a key file`,
      { details: { path }, cause: e },
    );
  }
  return signingKeyFromPem(pem, path);
}

export interface KeyPairPaths {
  keyid: string;
  privatePath: string;
  publicPath: string;
}

export interface WriteKeyPairOptions {
  /** where the private key goes (mode 0600; its directory is created 0700) */
  privatePath: string;
  /** the project's `locks/`; the public key goes to `<locksDir>/keys/<keyid>.pub.pem` */
  locksDir: string;
  /** replace an existing private key file; default false */
  force?: boolean;
}

/** Writes the private key (0600) outside `locksDir` and the public key into `<locksDir>/keys/`. */
export async function writeKeyPair(key: SigningKey, options: WriteKeyPairOptions): Promise<KeyPairPaths> {
  const privatePath = resolve(options.privatePath);
  const locksDir = resolve(options.locksDir);
  if (isInside(await realResolve(privatePath), await realResolve(locksDir))) {
    throw new AirlockError('USAGE', `refusing to write the private key inside ${locksDir} (it is committed and shared)`, {
      details: { privatePath, locksDir },
    });
  }
  if (!options.force && (await exists(privatePath))) {
    throw new AirlockError('USAGE', `a signing key already exists at ${privatePath}; refusing to overwrite it`, {
      details: { privatePath },
    });
  }
  await mkdir(dirname(privatePath), { recursive: true, mode: 0o700 });
  await writeFileAtomic(privatePath, signingKeyToPem(key), 0o600);
  const { path: publicPath } = await writePublicKey(key, locksDir);
  return { keyid: key.keyid, privatePath, publicPath };
}

/** Where a project trusts `keyid`: `<locksDir>/keys/<keyid>.pub.pem`. */
export function publicKeyPath(locksDir: string, keyid: string): string {
  return join(resolve(locksDir), 'keys', `${keyid}${PUBLIC_SUFFIX}`);
}

/**
 * The one writer of trust material: the public key into `<locksDir>/keys/<keyid>.pub.pem`
 * (keygen, keygen --if-missing, and trust on first use all come here). A file already
 * holding exactly these bytes is left alone (`written: false`), so a committed key is
 * never rewritten, not even with the same content.
 */
export async function writePublicKey(key: PublicKey, locksDir: string): Promise<{ path: string; written: boolean }> {
  const path = publicKeyPath(locksDir, key.keyid);
  const pem = publicKeyToPem(key);
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === pem) return { path, written: false };
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, pem, 0o644);
  return { path, written: true };
}

/**
 * The key ids a project's `<locksDir>/keys/` names (`<keyid>.pub.pem`), sorted, without
 * reading the files: what the project has chosen to trust, whether or not each file holds a
 * valid key ({@link loadTrustedKeys} checks that).
 */
export async function trustedKeyIds(locksDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(join(locksDir, 'keys'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .filter((n) => n.endsWith(PUBLIC_SUFFIX))
    .sort()
    .map((n) => basename(n, PUBLIC_SUFFIX));
}

/**
 * Every `<locksDir>/keys/*.pub.pem`, sorted by file name. A file whose name is
 * not the id of the key it holds is refused: trust material must say what it is.
 */
export async function loadTrustedKeys(locksDir: string): Promise<PublicKey[]> {
  const keys: PublicKey[] = [];
  for (const named of await trustedKeyIds(locksDir)) {
    const path = join(locksDir, 'keys', `${named}${PUBLIC_SUFFIX}`);
    const key = await loadTrustedKeyFile(path);
    if (named !== key.keyid) {
      throw new AirlockError('TRUSTED_KEY_INVALID', `${path} holds key ${key.keyid}, not the key its name says`, {
        details: { path, keyid: key.keyid },
      });
    }
    keys.push(key);
  }
  return keys;
}

/** A PEM file is a few hundred bytes; anything far larger is not a key. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * One trusted public key file (`locks/keys/*.pub.pem`, `verify --key`). What is wrong with
 * it is a verification failure (TRUSTED_KEY_INVALID, exit 7): nothing can be verified
 * against it, and it says nothing about the signing key.
 */
export async function loadTrustedKeyFile(path: string): Promise<PublicKey> {
  const untrusted = (reason: string, cause?: unknown) =>
    new AirlockError('TRUSTED_KEY_INVALID', `trusted key ${path}: ${reason}`, { cause, details: { path } });
  const bytes = await readBounded(path, MAX_KEY_FILE_BYTES, (p) => untrusted(p.message));
  try {
    return publicKeyFromPem(bytes.toString('utf8'), path);
  } catch (e) {
    throw isAirlockError(e, 'KEY_INVALID') ? untrusted(e.message, e) : e;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Resolves symlinks in the longest existing prefix of `path`, so `locks -> elsewhere` cannot hide. */
async function realResolve(path: string): Promise<string> {
  let head = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(await realpath(head), ...rest);
    } catch {
      const parent = dirname(head);
      if (parent === head) return path;
      rest.unshift(basename(head));
      head = parent;
    }
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
