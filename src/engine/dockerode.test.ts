import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadDockerode } from './dockerode.js';

const require = createRequire(import.meta.url);

describe('loadDockerode', () => {
  it('gives dockerode without loading its BuildKit session or docker-modem ssh, and the real ones on first use', () => {
    // (a worker that loaded dockerode before, the plain way, has nothing left to defer)
    const fresh = require.cache[require.resolve('dockerode')] === undefined;
    const Docker = loadDockerode();
    expect(typeof Docker).toBe('function');
    if (!fresh) return;
    const session = require.resolve('dockerode/lib/session.js');
    const ssh = createRequire(require.resolve('dockerode')).resolve('docker-modem/lib/ssh.js');
    expect(Object.keys(require.cache).some((p) => p.includes('@grpc'))).toBe(false);
    const standIn = require.cache[session]!.exports as (...a: unknown[]) => unknown;
    expect(standIn.name).toBe('deferred');
    expect((require.cache[ssh]!.exports as { name: string }).name).toBe('deferred');
    // the first call loads the real module in its place; a bad call then fails as dockerode's would
    expect(() => standIn(undefined, undefined, () => undefined)).toThrow();
    expect(Object.keys(require.cache).some((p) => p.includes('@grpc'))).toBe(true);
    expect(require.cache[session]!.exports).not.toBe(standIn);
    // loading again is harmless
    expect(loadDockerode()).toBe(Docker);
  });
});
