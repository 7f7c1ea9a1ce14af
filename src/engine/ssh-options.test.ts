import { createHmac, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { knownKeys, sshOptions } from './ssh-options.js';

const blob = (s: string) => Buffer.from(s).toString('base64');
const hashed = (name: string, salt = Buffer.from('0123456789abcdefghij')) =>
  `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;

describe('knownKeys', () => {
  const text = [
    '# comment',
    `box ssh-ed25519 ${blob('key-box')}`,
    `[box]:2222,other ssh-ed25519 ${blob('key-box-2222')}`,
    `${hashed('[127.0.0.1]:2200')} ssh-ed25519 ${blob('key-hashed')}`,
    `@revoked box ssh-ed25519 ${blob('revoked')}`,
  ].join('\n');

  it('finds plain and hashed entries, by port', () => {
    expect(knownKeys(text, 'box', 22).map(String)).toEqual(['key-box']);
    expect(knownKeys(text, 'box', 2222).map(String)).toEqual(['key-box-2222']);
    expect(knownKeys(text, '127.0.0.1', 2200).map(String)).toEqual(['key-hashed']);
    expect(knownKeys(text, 'nobody', 22)).toEqual([]);
  });
});

describe('sshOptions', () => {
  const home = () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-ssh-'));
    mkdirSync(join(dir, '.ssh'));
    writeFileSync(join(dir, '.ssh', 'known_hosts'), `box ssh-ed25519 ${blob('key-box')}\n`);
    return dir;
  };

  it('uses the agent when there is one, and accepts only the known host key', () => {
    const o = sshOptions('box', 22, { HOME: home(), SSH_AUTH_SOCK: '/a.sock' });
    expect(o.agent).toBe('/a.sock');
    expect(o.hostVerifier(Buffer.from('key-box'))).toBe(true);
    expect(o.hostVerifier(Buffer.from('someone-else'))).toBe(false);
  });

  it('refuses every key of a host known_hosts does not list', () => {
    expect(sshOptions('unknown', 22, { HOME: home(), SSH_AUTH_SOCK: '/a.sock' }).hostVerifier(Buffer.from('key-box'))).toBe(false);
  });

  it('falls back to the default identity, then says how to log in', () => {
    const dir = home();
    expect(() => sshOptions('box', 22, { HOME: dir })).toThrow(/SSH_AUTH_SOCK|AIRLOCK_SSH_KEY/);
    const { privateKey } = generateKeyPairSync('ed25519', { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    writeFileSync(join(dir, '.ssh', 'id_ed25519'), privateKey);
    expect(sshOptions('box', 22, { HOME: dir }).privateKey?.toString()).toBe(privateKey);
  });
});
