import { createRequire, Module } from 'node:module';
import type Docker from 'dockerode';

const require = createRequire(import.meta.url);

/**
 * dockerode, with two of its modules loaded on first use instead of at start: its BuildKit
 * session (gRPC and protobuf; only for `version: '2'` builds, and airlock builds with the
 * classic builder) and docker-modem's ssh transport (ssh2; airlock's ssh:// engines use
 * their own agent, engine/ssh-agent.ts). Loading them cost ~0.2-0.4 s of every command
 * that talks to an engine (cpu profile of a cached `airlock run`, issue 12 item 2).
 * Whoever calls either gets the real module, loaded then.
 */
export function loadDockerode(): typeof Docker {
  deferModule(require.resolve('dockerode/lib/session.js'));
  deferModule(createRequire(require.resolve('dockerode')).resolve('docker-modem/lib/ssh.js'));
  return require('dockerode') as typeof Docker;
}

/** Puts a stand-in for a CommonJS module exporting one function into the require cache. */
function deferModule(path: string): void {
  if (require.cache[path]) return;
  let real: ((...args: unknown[]) => unknown) | undefined;
  const load = () => {
    if (real) return real;
    delete require.cache[path];
    real = require(path) as (...args: unknown[]) => unknown;
    return real;
  };
  const standIn = new Module(path);
  standIn.filename = path;
  standIn.loaded = true;
  standIn.exports = function deferred(this: unknown, ...args: unknown[]) {
    return load().apply(this, args);
  };
  require.cache[path] = standIn;
}
