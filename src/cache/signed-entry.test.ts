import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../errors.js';
import { signEnvelope, type Envelope } from '../proof/dsse.js';
import { generateSigningKey, type PublicKey } from '../proof/keys.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import type { CachedCell } from './action-cache.js';
import { cacheKey, CELL_FORMAT_VERSION, type CacheKeyInputs } from './key.js';
import { CACHED_CELL_PAYLOAD_TYPE, openCachedCell, sealCachedCell } from './signed-entry.js';

const signer = generateSigningKey();
const trusted: PublicKey[] = [{ keyid: signer.keyid, publicKey: signer.publicKey }];

function entry(name = 'build'): CachedCell {
  const inputs: CacheKeyInputs = {
    rootfsDigest: sha256Digest('rootfs'),
    argv: [['make', name]],
    env: {},
    inputs: {},
    policy: { network: 'none' },
    runtime: 'runc',
    outputs: ['/out'],
    expect: [{ exit: 0 }],
    services: undefined,
    cellFormatVersion: CELL_FORMAT_VERSION,
  };
  const key = cacheKey(inputs).key;
  return {
    key,
    cell: name,
    inputs,
    cellFormatVersion: CELL_FORMAT_VERSION,
    steps: [{ name: 'make', verdict: 'pass', exitCode: 0, timedOut: false, durationMs: 5, stdout: { digest: sha256Digest('o'), size: 1 } }],
    outputs: [{ path: '/out', entries: [{ path: 'a', type: 'file', mode: 0o644, size: 1, digest: sha256Digest('a') }] }],
    durationMs: 9,
    source: { runId: 'r1', bundleDir: '/ci/proofs/r1', transcriptSeq: 12, remote: { cache: 'http://elsewhere', keyid: 'k' } },
    storedAt: '2026-01-01T00:00:00.000Z',
  };
}

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (isAirlockError(e)) return e.code;
    throw e;
  }
  return 'accepted';
};

const envelopeOf = (bytes: Buffer) => JSON.parse(bytes.toString('utf8')) as Envelope;
const bytesOf = (e: unknown) => Buffer.from(JSON.stringify(e), 'utf8');

describe('sealCachedCell / openCachedCell', () => {
  it('round-trips, naming the key that signed; where this machine got it from is not signed', () => {
    const cell = entry();
    const { cell: opened, keyid } = openCachedCell(sealCachedCell(cell, signer), cell.key, trusted);
    expect(keyid).toBe(signer.keyid);
    const { remote: _, ...origin } = cell.source;
    expect(opened).toEqual({ ...JSON.parse(JSON.stringify(cell)), source: origin });
  });

  it('refuses an entry signed by a key the project does not trust', () => {
    const cell = entry();
    expect(code(() => openCachedCell(sealCachedCell(cell, generateSigningKey()), cell.key, trusted))).toBe('KEY_UNTRUSTED');
  });

  it('refuses a payload changed after signing', () => {
    const cell = entry();
    const env = envelopeOf(sealCachedCell(cell, signer));
    const changed = Buffer.from(env.payload, 'base64').toString('utf8').replace('"exitCode":0', '"exitCode":1');
    expect(code(() => openCachedCell(bytesOf({ ...env, payload: Buffer.from(changed).toString('base64') }), cell.key, trusted))).toBe('SIGNATURE_INVALID');
  });

  it('refuses what is not a signed cached cell', () => {
    const cell = entry();
    const key: Digest = cell.key;
    expect(code(() => openCachedCell(Buffer.from('\x00garbage'), key, trusted))).toBe('CACHE_ENTRY_INVALID');
    expect(code(() => openCachedCell(bytesOf(cell), key, trusted))).toBe('CACHE_ENTRY_INVALID');
    const otherType = signEnvelope('application/vnd.in-toto+json', Buffer.from(JSON.stringify(cell)), signer);
    expect(code(() => openCachedCell(bytesOf(otherType), key, trusted))).toBe('CACHE_ENTRY_INVALID');
    const notACell = signEnvelope(CACHED_CELL_PAYLOAD_TYPE, Buffer.from('{"key":1}'), signer);
    expect(code(() => openCachedCell(bytesOf(notACell), key, trusted))).toBe('CACHE_ENTRY_INVALID');
  });

  it("refuses a genuine entry served under another key (its own key, or its inputs', differ)", () => {
    const a = entry('a');
    const b = entry('b');
    expect(code(() => openCachedCell(sealCachedCell(a, signer), b.key, trusted))).toBe('CACHE_ENTRY_INVALID');
    // signed, claims key b, but its inputs hash to a's key
    const lying: CachedCell = { ...a, key: b.key };
    expect(code(() => openCachedCell(sealCachedCell(lying, signer), b.key, trusted))).toBe('CACHE_ENTRY_INVALID');
  });
});
