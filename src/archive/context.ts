import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack, type Pack } from 'tar-stream';

import { AirlockError, isAirlockError } from '../errors.js';
import type { Digest } from '../util/digest.js';
import { DockerIgnore } from './dockerignore.js';
import { compareBytes } from './paths.js';

export interface ContextTarOptions {
  /** absolute path of the Dockerfile; may lie outside the context directory */
  dockerfile: string;
  /**
   * Files added to the context at these paths (e.g. fetched inputs at
   * `.airlock/inputs/<name>`), whatever `.dockerignore` says; a path the context
   * already has is refused.
   */
  extra?: { path: string; source: string }[];
  /**
   * Directories never sent, wherever they are (airlock's own workspace: `artifacts/` and
   * `proofs/` change on every run and hold the CAS, so a context of `.` must not carry them).
   */
  exclude?: string[];
}

export interface ContextTar {
  digest: Digest;
  size: number;
  entries: number;
  /** the Dockerfile's name inside the tar (the API's `dockerfile` parameter) */
  dockerfileName: string;
}

/**
 * Where a Dockerfile from outside the context goes. Top level on purpose, like the Docker
 * CLI's `.dockerfile.<random>`: the daemon deletes the file from the context (it is listed in
 * `.dockerignore`) but not its parent directory, so `.airlock/Dockerfile` would leave an
 * empty `.airlock/` in every image built with `COPY . .` (checked against Docker 20.10).
 */
export const EXTERNAL_DOCKERFILE = '.airlock.Dockerfile';

type ContextEntry =
  | { path: string; type: 'file'; mode: number; size: number; source: string }
  | { path: string; type: 'dir'; mode: number }
  | { path: string; type: 'symlink'; mode: number; target: string }
  | { path: string; type: 'file'; mode: number; size: number; content: Buffer };

/**
 * Writes the build context the Docker Engine API takes (`POST /build`, body a tar) to
 * `destFile`, byte-for-byte reproducible: the same tree gives the same tar and digest.
 *
 * - `.dockerignore` is honoured as the Docker CLI does (see DockerIgnore), and the
 *   Dockerfile and `.dockerignore` are always sent.
 * - Entries are sorted by path (byte order); headers carry only the name, type, size,
 *   permission bits (with setuid/setgid/sticky) and link target: mtime 0, uid/gid 0,
 *   no user or group names.
 * - Symlinks are sent as symlinks, never followed. Hardlinked files are sent as separate
 *   regular files. Sockets, FIFOs and devices are refused (CONTEXT_INVALID naming the file).
 * - A Dockerfile outside the context is added as `.airlock.Dockerfile` and, as the CLI does
 *   for its random name, appended to the sent `.dockerignore` so `COPY . .` leaves it out.
 * - `destFile` itself is never part of the context, even when it lies inside it; nor are `exclude`d directories.
 */
export async function writeContextTar(
  contextDir: string,
  destFile: string,
  options: ContextTarOptions,
): Promise<ContextTar> {
  const ctx = await realDir(contextDir);
  const dockerfile = await realFile(options.dockerfile);
  const inside = relative(ctx, dockerfile);
  const external = inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside);
  const dockerfileName = external ? EXTERNAL_DOCKERFILE : inside.split(sep).join('/');
  await io(destFile, () => fs.mkdir(dirname(destFile), { recursive: true }));
  const dest = join(await realDir(dirname(destFile)), basename(destFile));

  const ignoreText = await readIgnoreFile(join(ctx, '.dockerignore'));
  const rules = DockerIgnore.parse(ignoreText ?? '').keeping(external ? ['.dockerignore'] : ['.dockerignore', dockerfileName]);
  const skip = new Set([dest, ...(await Promise.all((options.exclude ?? []).map((d) => fs.realpath(d).catch(() => d))))]);
  const entries = await walk(ctx, rules, skip);

  if (external) {
    if (entries.some((e) => e.path === EXTERNAL_DOCKERFILE)) {
      throw new AirlockError(
        'CONTEXT_INVALID',
        `the context already has a ${EXTERNAL_DOCKERFILE}, where the Dockerfile from outside it would go`,
        { details: { context: ctx, dockerfile } },
      );
    }
    const st = await fs.stat(dockerfile);
    entries.push({
      path: EXTERNAL_DOCKERFILE,
      type: 'file',
      mode: st.mode & 0o7777,
      size: st.size,
      content: await fs.readFile(dockerfile),
    });
    const ignore = entries.findIndex((e) => e.path === '.dockerignore');
    const text = `${ignoreText ?? ''}\n${EXTERNAL_DOCKERFILE}\n`;
    const content = Buffer.from(text, 'utf8');
    const mode = ignore === -1 ? 0o644 : entries[ignore]!.mode;
    const replaced = { path: '.dockerignore', type: 'file' as const, mode, size: content.length, content };
    if (ignore === -1) entries.push(replaced);
    else entries[ignore] = replaced;
  }
  for (const add of options.extra ?? []) {
    if (entries.some((e) => e.path === add.path)) {
      throw new AirlockError('CONTEXT_INVALID', `the context already has ${add.path}, where an input would go`, { details: { context: ctx, path: add.path } });
    }
    const dirs = add.path.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    for (const dir of dirs) if (!entries.some((e) => e.path === dir)) entries.push({ path: dir, type: 'dir', mode: 0o755 });
    const st = await io(add.source, () => fs.stat(add.source));
    entries.push({ path: add.path, type: 'file', mode: 0o644, size: st.size, source: add.source });
  }
  entries.sort((a, b) => compareBytes(a.path, b.path));

  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  const tar = pack();
  try {
    await Promise.all([
      pipeline(tar, measure, createWriteStream(dest)),
      (async () => {
        try {
          for (const e of entries) await addEntry(tar, e);
          tar.finalize();
        } catch (err) {
          tar.destroy(err instanceof Error ? err : new Error(String(err)));
          throw err;
        }
      })(),
    ]);
  } catch (e) {
    await fs.rm(dest, { force: true });
    if (isAirlockError(e)) throw e;
    throw new AirlockError('CONTEXT_INVALID', `cannot write the build context of ${ctx}: ${String(e)}`, {
      cause: e,
      details: { context: ctx, dest },
    });
  }
  return { digest: `sha256:${hash.digest('hex')}`, size, entries: entries.length, dockerfileName };
}

/** Every path Docker would send, depth-first, with the CLI's directory-skipping rule. */
async function walk(ctx: string, rules: DockerIgnore, skip: ReadonlySet<string>): Promise<ContextEntry[]> {
  const out: ContextEntry[] = [];
  const visit = async (relDir: string): Promise<void> => {
    const abs = relDir === '' ? ctx : join(ctx, relDir);
    const names = (await io(relDir || '.', () => fs.readdir(abs))).sort(compareBytes);
    for (const name of names) {
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const path = join(ctx, rel);
      if (skip.has(path)) continue;
      const st = await io(rel, () => fs.lstat(path));
      if (rules.ignores(rel)) {
        if (st.isDirectory() && rules.mustDescend(rel)) await visit(rel);
        continue;
      }
      const mode = st.mode & 0o7777;
      if (st.isFile()) {
        out.push({ path: rel, type: 'file', mode, size: st.size, source: path });
      } else if (st.isDirectory()) {
        out.push({ path: rel, type: 'dir', mode });
        await visit(rel);
      } else if (st.isSymbolicLink()) {
        out.push({ path: rel, type: 'symlink', mode, target: await io(rel, () => fs.readlink(path)) });
      } else {
        throw new AirlockError('CONTEXT_INVALID', `${rel}: a socket, FIFO or device cannot be sent in a build context`, {
          details: { context: ctx, file: rel },
        });
      }
    }
  };
  await visit('');
  return out;
}

async function addEntry(tar: Pack, e: ContextEntry): Promise<void> {
  const fixed = { mode: e.mode, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) };
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolve());
    switch (e.type) {
      case 'dir':
        tar.entry({ ...fixed, name: `${e.path}/`, type: 'directory' }, '', done);
        break;
      case 'symlink':
        tar.entry({ ...fixed, name: e.path, type: 'symlink', linkname: e.target }, '', done);
        break;
      case 'file':
        if ('content' in e) {
          tar.entry({ ...fixed, name: e.path, type: 'file' }, e.content, done);
        } else {
          const sink = tar.entry({ ...fixed, name: e.path, type: 'file', size: e.size }, done);
          const src = createReadStream(e.source);
          src.on('error', (err) => {
            sink.destroy(err);
            reject(new AirlockError('CONTEXT_INVALID', `cannot read ${e.path}: ${err.message}`, { cause: err }));
          });
          src.pipe(sink);
        }
        break;
    }
  });
}

async function realDir(p: string): Promise<string> {
  const real = await io(p, () => fs.realpath(p));
  if (!(await fs.stat(real)).isDirectory()) {
    throw new AirlockError('CONTEXT_INVALID', `${p} is not a directory`, { details: { path: p } });
  }
  return real;
}

async function realFile(p: string): Promise<string> {
  const real = await io(p, () => fs.realpath(p));
  if (!(await fs.stat(real)).isFile()) {
    throw new AirlockError('CONTEXT_INVALID', `the Dockerfile ${p} is not a file`, { details: { path: p } });
  }
  return real;
}

async function readIgnoreFile(p: string): Promise<string | undefined> {
  try {
    return await fs.readFile(p, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw new AirlockError('CONTEXT_INVALID', `cannot read ${p}: ${String(e)}`, { cause: e, details: { path: p } });
  }
}

async function io<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isAirlockError(e)) throw e;
    throw new AirlockError('CONTEXT_INVALID', `${what}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      details: { file: what },
    });
  }
}
