import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AirlockError } from '../errors.js';

/** What ssh2 (docker-modem's ssh transport) is given to log in and to check the server. */
export interface SshOptions {
  agent?: string;
  privateKey?: Buffer;
  hostVerifier: (key: Buffer) => boolean;
}

/** The identities `ssh` tries by default, in its order. */
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/**
 * Login and host checking for an ssh:// engine, as `ssh` would do them: the agent
 * (SSH_AUTH_SOCK) when there is one, else AIRLOCK_SSH_KEY or the first default identity in
 * ~/.ssh; the server's key must be listed for the host in ~/.ssh/known_hosts (or
 * AIRLOCK_SSH_KNOWN_HOSTS), hashed entries included. An unknown host is refused, never
 * trusted on first use: the engine would run every cell.
 */
export function sshOptions(host: string, port: number, env: NodeJS.ProcessEnv = process.env): SshOptions {
  const sshDir = join(env.HOME || homedir(), '.ssh');
  const knownHostsFile = env.AIRLOCK_SSH_KNOWN_HOSTS || join(sshDir, 'known_hosts');
  const known = knownKeys(readOptional(knownHostsFile)?.toString('utf8') ?? '', host, port);
  const hostVerifier = (key: Buffer) => known.some((k) => k.equals(key));
  if (env.SSH_AUTH_SOCK) return { agent: env.SSH_AUTH_SOCK, hostVerifier };
  const candidates = env.AIRLOCK_SSH_KEY ? [env.AIRLOCK_SSH_KEY] : DEFAULT_IDENTITIES.map((n) => join(sshDir, n));
  for (const file of candidates) {
    const privateKey = readOptional(file);
    if (privateKey) return { privateKey, hostVerifier };
  }
  throw new AirlockError('ENGINE_UNAVAILABLE', `ssh://${host}: no way to log in: start an ssh agent (SSH_AUTH_SOCK) or set AIRLOCK_SSH_KEY to a private key file`, {
    details: { where: `ssh://${host}:${port}`, tried: candidates },
  });
}

/**
 * The keys known_hosts lists for a host (`host` on port 22, `[host]:port` otherwise), plain or
 * hashed (`|1|salt|hmac`), as the raw key blobs the server presents. Marker lines (@revoked,
 * @cert-authority) are not keys of the host and are skipped.
 */
export function knownKeys(text: string, host: string, port: number): Buffer[] {
  const name = port === 22 ? host : `[${host}]:${port}`;
  const keys: Buffer[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@')) continue;
    const [hosts, , blob] = line.split(/\s+/);
    if (!hosts || !blob) continue;
    if (hosts.split(',').some((h) => matches(h, name))) keys.push(Buffer.from(blob, 'base64'));
  }
  return keys;
}

function matches(pattern: string, name: string): boolean {
  if (!pattern.startsWith('|1|')) return pattern === name;
  const [, , salt, hash] = pattern.split('|');
  if (!salt || !hash) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
}

function readOptional(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AirlockError('ENGINE_UNAVAILABLE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`, { cause: e, details: { where: file } });
  }
}
