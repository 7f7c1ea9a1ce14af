import { describe, expect, it } from 'vitest';

import { AirlockError } from '../errors.js';
import { emptyInputsLock, type InputsLock } from './lock.js';
import { checkInputs, resolvePins } from './pins.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const U = 'https://example.test/zlib-1.3.tar.gz';
const lock = (url: string, sha256: string): InputsLock => ({ lockVersion: 1, inputs: { zlib: { url, sha256, size: 1 } } });

function thrown(fn: () => unknown): AirlockError {
  try {
    fn();
  } catch (e) {
    return e as AirlockError;
  }
  throw new Error('expected a throw');
}

describe('resolvePins', () => {
  it('prefers the spec, falls back to the lock, and leaves the rest unpinned', () => {
    expect(resolvePins([{ name: 'zlib', url: U, sha256: A }], lock(U, A))[0]!.pin).toEqual({ digest: `sha256:${A}`, from: 'spec' });
    expect(resolvePins([{ name: 'zlib', url: U }], lock(U, A))[0]!.pin).toEqual({ digest: `sha256:${A}`, from: 'lock' });
    expect(resolvePins([{ name: 'zlib', url: U }], emptyInputsLock())[0]!.pin).toBeUndefined();
  });

  it('ignores a lock entry taken from another URL (it is stale), unless frozen', () => {
    expect(resolvePins([{ name: 'zlib', url: U }], lock('https://old.test/z.tgz', A))[0]!.pin).toBeUndefined();
    expect(resolvePins([{ name: 'zlib', url: U, sha256: B }], lock('https://old.test/z.tgz', A))[0]!.pin?.digest).toBe(`sha256:${B}`);
    const e = thrown(() => resolvePins([{ name: 'zlib', url: U }], lock('https://old.test/z.tgz', A), { frozen: true }));
    expect(e.code).toBe('FETCH_NOT_PINNED');
    expect(e.message).toContain('zlib (inputs.lock.json pins it for https://old.test/z.tgz');
  });

  it('refuses a spec pin and a lock pin that disagree, naming both', () => {
    const e = thrown(() => resolvePins([{ name: 'zlib', url: U, sha256: A }], lock(U, B)));
    expect(e.code).toBe('FETCH_HASH_MISMATCH');
    expect(e.message).toContain(`input zlib: airlock.yaml pins sha256:${A} but inputs.lock.json pins sha256:${B}`);
  });
});

describe('checkInputs', () => {
  it('lists every bad field at once', () => {
    const e = thrown(() =>
      checkInputs([
        { name: 'a', url: 'ftp://x.test/a' },
        { name: 'a', url: 'https://u:p@x.test/a', sha256: 'sha256:abc' },
        { name: '', url: 'not a url' },
      ]),
    );
    expect(e.code).toBe('SPEC_INVALID');
    expect(e.details.issues).toEqual([
      'inputs[0].url: ftp://x.test/a uses ftp:, only http and https are fetched',
      'inputs[1].name: duplicate input name "a"',
      'inputs[1].url: https://***@x.test/a carries credentials (user:password@); put them nowhere in the spec, serve the input without them',
      'inputs[1].sha256: expected 64 lowercase hex digits, got "sha256:abc"',
      'inputs[2].name: must be a non-empty string',
      'inputs[2].url: not a url is not an absolute URL',
    ]);
  });
});
