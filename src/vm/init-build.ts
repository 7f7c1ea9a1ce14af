import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Engine } from '../engine/engine.js';
import tar from 'tar-stream';

import { forEachTarEntry } from '../archive/tar-read.js';
import { isNotFound } from '../engine/client.js';
import { LABEL_MANAGED, LABEL_PID, LABEL_ROLE, LABEL_RUN } from '../engine/labels.js';
import { AirlockError } from '../errors.js';
import { sha256Digest, type Digest } from '../util/digest.js';

/** The source lives in src/ (tsc does not copy it); this resolves from src/vm and dist/vm alike. */
export const INIT_SOURCE = fileURLToPath(new URL('../../src/vm/init/airlock-init.c', import.meta.url));
/** The image that compiles it: a pinned base (locks/base-images.lock.json), so the compiler is pinned too. */
export const INIT_BUILD_IMAGE = 'airlock/debian:bookworm-build';
/** Fixed flags: no build id, no paths of the build directory, stripped; the same source gives the same bytes. */
export const INIT_CFLAGS = ['-static', '-O2', '-s', '-Wall', '-Wextra', '-Werror', '-ffile-prefix-map=/build=.', '-Wl,--build-id=none'];

export interface InitBinary {
  path: string;
  /** digest of the binary */
  digest: Digest;
  /** digest of airlock-init.c */
  source: Digest;
  /** image the compiler ran in */
  builtIn: string;
  /** false when it came from the cache */
  built: boolean;
}

export interface EnsureInitOptions {
  engine: Engine;
  /** where compiled binaries are kept, named by their source (e.g. `artifacts/vm`) */
  cacheDir: string;
  sourcePath?: string;
  image?: string;
  signal?: AbortSignal;
}

/**
 * The static airlock-init binary for the current source: from the cache when this source
 * (and these flags) were compiled before, else compiled inside INIT_BUILD_IMAGE with no
 * network, the source put in through the engine's archive API. No host compiler is used.
 */
export async function ensureInit(opts: EnsureInitOptions): Promise<InitBinary> {
  const sourcePath = opts.sourcePath ?? INIT_SOURCE;
  const image = opts.image ?? INIT_BUILD_IMAGE;
  const source = await fs.readFile(sourcePath);
  const sourceDigest = sha256Digest(source);
  const key = createHash('sha256').update(source).update('\0').update(INIT_CFLAGS.join(' ')).update('\0').update(image).digest('hex');
  const path = join(opts.cacheDir, `airlock-init-${key.slice(0, 32)}`);
  try {
    const bytes = await fs.readFile(path);
    return { path, digest: sha256Digest(bytes), source: sourceDigest, builtIn: image, built: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const binary = await compileInEngine(opts.engine, image, source, opts.signal);
  await fs.mkdir(opts.cacheDir, { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(tmp, binary, { mode: 0o755 });
  await fs.rename(tmp, path);
  return { path, digest: sha256Digest(binary), source: sourceDigest, builtIn: image, built: true };
}

async function compileInEngine(engine: Engine, image: string, source: Buffer, signal?: AbortSignal): Promise<Buffer> {
  signal?.throwIfAborted();
  const context = await sourceTar(source);
  const container = await engine.containers
    .create({
      Image: image,
      Cmd: ['gcc', ...INIT_CFLAGS, '-o', '/build/airlock-init', '/build/airlock-init.c'],
      WorkingDir: '/build',
      User: '0:0',
      NetworkDisabled: true,
      Labels: {
        [LABEL_MANAGED]: 'true',
        [LABEL_RUN]: 'vm-init-build',
        [LABEL_PID]: String(process.pid),
        [LABEL_ROLE]: 'vm-init-build',
      },
      HostConfig: { NetworkMode: 'none', CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] },
    })
    .catch((e: unknown) => {
      throw new AirlockError('ENGINE_ERROR', `cannot create the container that compiles airlock-init (image ${image}): ${(e as Error).message}`, {
        cause: e,
        details: { image },
      });
    });
  const kill = () => void container.kill('SIGKILL').catch(() => undefined);
  signal?.addEventListener('abort', kill, { once: true });
  try {
    await container.writeArchive(context, '/');
    await container.start();
    const { StatusCode } = await container.wait();
    signal?.throwIfAborted();
    if (StatusCode !== 0) {
      const log = await container.logs();
      throw new AirlockError('BUILD_FAILED', `compiling airlock-init failed (gcc exited ${StatusCode}):\n${demux(log)}`, {
        details: { image, exitCode: StatusCode },
      });
    }
    const archive = await container.readArchive('/build/airlock-init');
    let binary: Buffer | undefined;
    await forEachTarEntry(archive, async (header, body) => {
      if (header.type !== 'file' || header.name.replace(/^\.?\//, '') !== 'airlock-init') return;
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c);
      binary = Buffer.concat(chunks);
    });
    if (!binary) throw new AirlockError('ENGINE_ERROR', 'the engine returned no airlock-init binary', { details: { image } });
    return binary;
  } finally {
    signal?.removeEventListener('abort', kill);
    await container.remove({ force: true, volumes: true }).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  }
}

async function sourceTar(source: Buffer): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  pack.entry({ name: 'build/', type: 'directory', mode: 0o755, mtime: new Date(0), uid: 0, gid: 0 });
  pack.entry({ name: 'build/airlock-init.c', mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, size: source.length }, source);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The engine's log stream without its 8-byte frame headers (good enough for an error message). */
function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const len = buf.readUInt32BE(off + 4);
    parts.push(buf.subarray(off + 8, off + 8 + len));
    off += 8 + len;
  }
  return Buffer.concat(parts).toString('utf8').slice(-4000);
}
