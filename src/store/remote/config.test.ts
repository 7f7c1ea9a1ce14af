import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../errors.js';
import { REMOTE_CACHE_DEFAULTS, remoteCacheFromEnv } from './config.js';

const refusal = (env: NodeJS.ProcessEnv): string => {
  try {
    remoteCacheFromEnv(env);
  } catch (e) {
    if (isAirlockError(e, 'REMOTE_CACHE_INVALID')) return e.message;
    throw e;
  }
  throw new Error('accepted');
};

describe('remoteCacheFromEnv', () => {
  it('is off when AIRLOCK_REMOTE_CACHE is unset or empty', () => {
    expect(remoteCacheFromEnv({})).toBeUndefined();
    expect(remoteCacheFromEnv({ AIRLOCK_REMOTE_CACHE: '' })).toBeUndefined();
  });

  it('resolves cas/ and ac/ below the base, with or without a trailing slash', () => {
    for (const url of ['http://cache:9092/team', 'http://cache:9092/team/']) {
      const c = remoteCacheFromEnv({ AIRLOCK_REMOTE_CACHE: url })!;
      expect(new URL('cas/ab', c.base).href).toBe('http://cache:9092/team/cas/ab');
      expect(c.shown).toBe('http://cache:9092/team');
      expect(c.authorization).toBeUndefined();
      expect(c).toMatchObject(REMOTE_CACHE_DEFAULTS);
    }
  });

  it('takes Basic auth from the user info and never shows it', () => {
    const c = remoteCacheFromEnv({ AIRLOCK_REMOTE_CACHE: 'https://ci:p%40ss@cache.example/' })!;
    expect(c.authorization).toBe(`Basic ${Buffer.from('ci:p@ss').toString('base64')}`);
    expect(c.base.href).toBe('https://cache.example/');
    expect(c.shown).toBe('https://cache.example');
  });

  it('takes Bearer auth from AIRLOCK_REMOTE_CACHE_TOKEN', () => {
    const c = remoteCacheFromEnv({ AIRLOCK_REMOTE_CACHE: 'https://cache.example', AIRLOCK_REMOTE_CACHE_TOKEN: 't0k' })!;
    expect(c.authorization).toBe('Bearer t0k');
    expect(JSON.stringify({ ...c, authorization: undefined })).not.toContain('t0k');
  });

  it('refuses what it cannot use, without repeating a secret', () => {
    expect(refusal({ AIRLOCK_REMOTE_CACHE: 'cache:9092' })).toContain('http or https');
    expect(refusal({ AIRLOCK_REMOTE_CACHE: 'not a url' })).toContain('not an absolute URL');
    expect(refusal({ AIRLOCK_REMOTE_CACHE: 'ftp://u:secret@cache/' })).not.toContain('secret');
    expect(refusal({ AIRLOCK_REMOTE_CACHE: 'http://cache/?sig=1' })).toContain('query');
    expect(refusal({ AIRLOCK_REMOTE_CACHE: 'http://u:secret@cache/', AIRLOCK_REMOTE_CACHE_TOKEN: 't' })).toContain('use one of');
  });
});
