import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { EnvelopeSchema, isBase64, pae, signEnvelope, verifyEnvelope } from './dsse.js';
import { generateSigningKey, publicKeyToPem } from './keys.js';
import { naclSecretKey } from './testing/nacl.js';

const HELLO = Buffer.from('hello world');

describe('pae', () => {
  it('matches the DSSE protocol test vector', () => {
    expect(pae('http://example.com/HelloWorld', HELLO).toString('latin1')).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('counts bytes, not characters', () => {
    expect(pae('é', Buffer.from('€', 'utf8'))).toEqual(Buffer.concat([Buffer.from('DSSEv1 2 é 3 ', 'utf8'), Buffer.from('€')]));
    expect(pae('t', new Uint8Array()).toString()).toBe('DSSEv1 1 t 0 ');
  });
});

describe('signEnvelope / verifyEnvelope', () => {
  it('signs the very bytes tweetnacl signed (Ed25519 is deterministic): envelopes from before still compare equal', () => {
    for (let i = 0; i < 4; i++) {
      const key = generateSigningKey();
      const payload = Buffer.from(`payload ${i}`);
      const env = signEnvelope('t/x', payload, key);
      expect(Buffer.from(env.signatures[0]!.sig, 'base64')).toEqual(Buffer.from(nacl.sign.detached(pae('t/x', payload), naclSecretKey(key))));
    }
  });

  const key = generateSigningKey();

  it('round-trips and names the key', () => {
    const env = signEnvelope('application/vnd.in-toto+json', HELLO, key);
    expect(EnvelopeSchema.parse(env)).toEqual(env);
    expect(Buffer.from(env.payload, 'base64')).toEqual(HELLO);
    expect(verifyEnvelope(env, [key])).toEqual({ keyid: key.keyid });
  });

  it('signs PAE, as another Ed25519 implementation checks it', () => {
    const env = signEnvelope('t/x', HELLO, key);
    const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
    expect(nodeVerify(null, pae('t/x', HELLO), createPublicKey(publicKeyToPem(key)), sig)).toBe(true);
    expect(nodeVerify(null, HELLO, createPublicKey(publicKeyToPem(key)), sig)).toBe(false);
  });

  it('KEY_UNTRUSTED when no signature names a trusted key', () => {
    const env = signEnvelope('t/x', HELLO, generateSigningKey());
    expect(() => verifyEnvelope(env, [key])).toThrow(expect.objectContaining({ code: 'KEY_UNTRUSTED' }));
    expect(() => verifyEnvelope(env, [])).toThrow(expect.objectContaining({ code: 'KEY_UNTRUSTED' }));
  });

  it('SIGNATURE_INVALID when a trusted key signature fails', () => {
    const env = signEnvelope('t/x', HELLO, key);
    const tampered = { ...env, payload: Buffer.from('hello worle').toString('base64') };
    expect(() => verifyEnvelope(tampered, [key])).toThrow(expect.objectContaining({ code: 'SIGNATURE_INVALID' }));
    const retyped = { ...env, payloadType: 't/y' };
    expect(() => verifyEnvelope(retyped, [key])).toThrow(expect.objectContaining({ code: 'SIGNATURE_INVALID' }));
    const short = { ...env, signatures: [{ keyid: key.keyid, sig: 'AAAA' }] };
    expect(() => verifyEnvelope(short, [key])).toThrow(expect.objectContaining({ code: 'SIGNATURE_INVALID' }));
  });

  it('accepts any one good signature among several, and an empty keyid', () => {
    const other = generateSigningKey();
    const a = signEnvelope('t/x', HELLO, other);
    const b = signEnvelope('t/x', HELLO, key);
    const both = { ...a, signatures: [...a.signatures, { keyid: '', sig: b.signatures[0]!.sig }] };
    expect(verifyEnvelope(both, [key])).toEqual({ keyid: key.keyid });
  });

  it('accepts URL-safe base64 as DSSE requires', () => {
    const env = signEnvelope('t/x', Buffer.from([0xfb, 0xff, 0xfe]), key);
    const urlSafe = {
      ...env,
      payload: Buffer.from(env.payload, 'base64').toString('base64url'),
      signatures: env.signatures.map((s) => ({ ...s, sig: Buffer.from(s.sig, 'base64').toString('base64url') })),
    };
    expect(EnvelopeSchema.safeParse(urlSafe).success).toBe(true);
    expect(verifyEnvelope(EnvelopeSchema.parse(urlSafe), [key])).toEqual({ keyid: key.keyid });
  });

  it('schema names every bad field', () => {
    const r = EnvelopeSchema.safeParse({ payloadType: '', payload: 'not base64!', signatures: [] });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['payload', 'payloadType', 'signatures']);
  });
});

describe('isBase64', () => {
  // The language the envelope schema used to check with a regular expression (kept here as the oracle).
  const ORACLE = /^(?:(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?|(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?)$/;

  it('accepts exactly what the old pattern accepted', () => {
    const alphabet = 'Aa0+/-_=!';
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let n = 0; n < 5000; n++) {
      const s = Array.from({ length: next() % 11 }, () => alphabet[next() % alphabet.length]).join('');
      expect(isBase64(s), JSON.stringify(s)).toBe(ORACLE.test(s));
    }
    for (const s of ['', 'QQ', 'QQ==', 'QUI', 'QUI=', 'QUJD', '-_-_', '+/+/']) expect(isBase64(s)).toBe(true);
    for (const s of ['Q', 'Q===', 'QQ=', 'QUJD=', '+_AA', 'QQ==QQ==', 'a b=']) expect(isBase64(s)).toBe(false);
  });

  it('checks a 16 MB payload without overflowing the stack', () => {
    const big = Buffer.alloc(12 * 1024 * 1024, 0x61).toString('base64');
    expect(() => ORACLE.test(big)).toThrow(RangeError); // what verify used to die of
    expect(isBase64(big)).toBe(true);
    expect(EnvelopeSchema.safeParse({ payloadType: 't', payload: big, signatures: [{ keyid: '', sig: 'AAAA' }] }).success).toBe(true);
  });
});
