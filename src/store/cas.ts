import { createHash, randomBytes } from 'node:crypto';
import { createReadStream as fsCreateReadStream, statSync, type ReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';

import { AirlockError, isAirlockError } from '../errors.js';
import { readBounded } from '../util/bounded-read.js';
import { digestHex, isDigest, type Digest } from '../util/digest.js';
import { blobDir } from './layout.js';
import { errno, pidAlive } from './process.js';

/** What a `put` stored: the blob's name and its length in bytes. */
export interface BlobRef {
  digest: Digest;
  size: number;
}

export interface PutOptions {
  /** Aborts the write; the temp file is removed and the signal's reason is thrown. */
  signal?: AbortSignal;
  /** When given, content hashing to anything else is refused with CAS_CORRUPT and nothing is stored. */
  expectedDigest?: Digest;
  /** Refuse (CAS_IO) content longer than this many bytes. Default: unlimited. */
  maxBytes?: number;
}

export interface CorruptBlob {
  /** The digest the file's name claims (`sha256:<file name>`, even when the name is not valid hex). */
  digest: string;
  /** What the content really hashes to; null when it could not be read (or is not a regular file). */
  actualDigest: Digest | null;
  path: string;
}

export interface VerifyResult {
  checked: number;
  corrupt: CorruptBlob[];
}

export interface VerifyProgress {
  checked: number;
  total: number;
  digest: string;
}

const HEX_RE = /^[0-9a-f]{64}$/;
/** Temp files are `<pid>.<random>.tmp`, so `cleanTemp` can tell a live writer's file from a crashed one's. */
/** Every temp file is named `<owner pid>.<rest>` (see tempPath): cleanTemp spares the files of live processes. */
const TEMP_RE = /^(\d+)\./;
/** `readBytes` is for manifests, logs and the like; anything bigger should be streamed. */
const READ_BYTES_LIMIT = 64 * 1024 * 1024;

/**
 * Content-addressed store in the OCI image-layout convention: `<root>/blobs/sha256/<hex>`.
 *
 * A blob appears under its name only complete and fsynced: content is streamed into
 * `<root>/tmp/` (same filesystem) while hashed, fsynced, then renamed into place and the
 * directory fsynced. A crash leaves at worst a temp file, which `cleanTemp` removes.
 * Prefer `Cas.open`, which also cleans crashed leftovers; `new Cas(root)` does no I/O and
 * creates the directories on the first put.
 */
export class Cas {
  readonly root: string;
  readonly blobDir: string;
  readonly tmpDir: string;
  /** settles once blobs/sha256 and tmp exist; shared by every put of this instance */
  #layout: Promise<void> | undefined;

  constructor(root: string) {
    this.root = root;
    this.blobDir = blobDir(root);
    this.tmpDir = join(root, 'tmp');
  }

  /** Creates the layout if missing and removes temp files left by dead processes. */
  static async open(root: string): Promise<Cas> {
    const cas = new Cas(root);
    await cas.#ensureLayout();
    await cas.cleanTemp();
    return cas;
  }

  #ensureLayout(): Promise<void> {
    this.#layout ??= io('create the store directories', this.root, async () => {
      await fs.mkdir(this.blobDir, { recursive: true });
      await fs.mkdir(this.tmpDir, { recursive: true });
    }).catch((e: unknown) => {
      this.#layout = undefined;
      throw e;
    });
    return this.#layout;
  }

  /** Stores bytes, a string (UTF-8) or a stream (never buffered whole). Idempotent. */
  async put(src: Readable | Uint8Array | string, options: PutOptions = {}): Promise<BlobRef> {
    const { signal, expectedDigest, maxBytes } = options;
    const tmp = this.tempPath(`${randomBytes(8).toString('hex')}.tmp`);
    const hash = createHash('sha256');
    let size = 0;
    let fh: fs.FileHandle | undefined;
    const stream = typeof src === 'string' || src instanceof Uint8Array ? undefined : src;
    try {
      if (expectedDigest !== undefined) this.#checkDigest(expectedDigest);
      if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) {
        throw new TypeError(`Expected \`maxBytes\` to be an integer >= 0, got \`${String(maxBytes)}\``);
      }
      signal?.throwIfAborted();
      await this.#ensureLayout();
      fh = await io('create a temp file', tmp, () => fs.open(tmp, 'wx', 0o600));
      const write = async (chunk: Uint8Array): Promise<void> => {
        size += chunk.byteLength;
        if (maxBytes !== undefined && size > maxBytes) {
          throw new AirlockError('CAS_IO', `blob exceeds the limit of ${maxBytes} bytes`, {
            details: { maxBytes },
          });
        }
        hash.update(chunk);
        const handle = fh!;
        await io('write a temp file', tmp, () => handle.write(chunk));
      };
      if (stream === undefined) {
        await write(typeof src === 'string' ? Buffer.from(src, 'utf8') : (src as Uint8Array));
      } else {
        // a stalled source must still notice the abort, so the signal destroys the stream
        if (signal) addAbortSignal(signal, stream);
        for await (const chunk of stream) {
          signal?.throwIfAborted();
          await write(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Uint8Array));
        }
      }
      signal?.throwIfAborted();
      const digest: Digest = `sha256:${hash.digest('hex')}`;
      if (expectedDigest !== undefined && digest !== expectedDigest) {
        throw new AirlockError('CAS_CORRUPT', `content hashes to ${digest}, expected ${expectedDigest}`, {
          details: { expected: expectedDigest, actual: digest, size },
        });
      }
      const handle = fh;
      await io('fsync a temp file', tmp, async () => {
        await handle.chmod(0o444);
        await handle.sync();
        await handle.close();
      });
      fh = undefined;

      const dest = this.pathOf(digest);
      if (await exists(dest)) {
        await fs.rm(tmp, { force: true });
      } else {
        await io('move a blob into place', dest, () => fs.rename(tmp, dest));
        await fsyncDir(this.blobDir);
      }
      return { digest, size };
    } catch (e) {
      stream?.destroy();
      await fh?.close().catch(() => undefined);
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      // addAbortSignal destroys the source with a generic AbortError; callers expect their reason
      if (signal?.aborted) throw signal.reason;
      throw e;
    }
  }

  /** Stores a file's content (streamed). */
  async putFile(path: string, options: PutOptions = {}): Promise<BlobRef> {
    const stream = fsCreateReadStream(path);
    // surface "no such file" as a store error rather than an unlabelled ENOENT
    await io('open a file to store', path, () => onceOpen(stream));
    return this.put(stream, options);
  }

  async has(d: Digest): Promise<boolean> {
    return exists(this.pathOf(d));
  }

  /** Where the blob lives (whether or not it is there). Throws CAS_IO for anything not a sha256 digest. */
  pathOf(d: Digest): string {
    this.#checkDigest(d);
    return join(this.blobDir, digestHex(d));
  }

  /** A read stream over the blob; CAS_IO (details.reason `missing`) at once when the blob is absent. */
  createReadStream(d: Digest): ReadStream {
    const path = this.pathOf(d);
    try {
      statSync(path);
    } catch (e) {
      throw missingOrIo(d, path, e);
    }
    return fsCreateReadStream(path);
  }

  /**
   * The whole blob in memory, checked against its name (CAS_CORRUPT when it does not match).
   * Only a regular file is read (a blob swapped for a symlink to /dev/zero or a fifo is
   * CAS_CORRUPT at once), and never more than `maxBytes`.
   */
  async readBytes(d: Digest, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const max = options.maxBytes ?? READ_BYTES_LIMIT;
    const path = this.pathOf(d);
    const bytes = await readBounded(path, max, (p) => {
      if (p.kind === 'missing' || p.kind === 'unreadable') {
        const missing = p.kind === 'missing';
        return new AirlockError('CAS_IO', missing ? `blob ${d} is not in the store` : `cannot read blob ${d} (${p.errno})`, {
          details: { digest: d, path, reason: missing ? 'missing' : 'io' },
        });
      }
      if (p.kind === 'too-big') {
        return new AirlockError('CAS_IO', `blob ${d} is ${p.size} bytes, more than readBytes allows (${max}); stream it`, {
          details: { digest: d, size: p.size, maxBytes: max },
        });
      }
      return new AirlockError('CAS_CORRUPT', `blob ${d}: ${p.message}`, { details: { digest: d, path, kind: p.kind } });
    });
    const actual: Digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== d) {
      throw new AirlockError('CAS_CORRUPT', `blob ${d} has content hashing to ${actual}`, {
        details: { digest: d, actualDigest: actual, path },
      });
    }
    return bytes;
  }

  async size(d: Digest): Promise<number> {
    const path = this.pathOf(d);
    try {
      return (await fs.stat(path)).size;
    } catch (e) {
      throw missingOrIo(d, path, e);
    }
  }

  /** Every blob name present (as digests), sorted. Misnamed files are skipped (verifyAll reports them). */
  async list(): Promise<Digest[]> {
    const names = await this.#blobNames();
    return names.filter((n) => HEX_RE.test(n)).map((n) => `sha256:${n}` as Digest);
  }

  /** Re-hashes every blob (streaming), reporting content that does not match its name and misnamed files. */
  async verifyAll(options: { onProgress?: (p: VerifyProgress) => void } = {}): Promise<VerifyResult> {
    const names = await this.#blobNames();
    const corrupt: CorruptBlob[] = [];
    let checked = 0;
    for (const name of names) {
      const path = join(this.blobDir, name);
      const claimed = `sha256:${name}`;
      const actual = await hashFile(path);
      if (actual !== claimed) corrupt.push({ digest: claimed, actualDigest: actual, path });
      checked += 1;
      options.onProgress?.({ checked, total: names.length, digest: claimed });
    }
    return { checked, corrupt };
  }

  /**
   * Removes temp files whose writer is gone (a crashed or killed run's half-written blobs).
   * Files of live processes, this one included, are left alone so concurrent puts survive.
   * Returns how many files were removed.
   */
  /**
   * A path in tmp/ owned by this process (same filesystem as the blobs, so a rename into
   * place is atomic): `cleanTemp`, run by every opening of the workspace, leaves it alone
   * while this process lives, whatever another run in the same project does.
   */
  tempPath(name: string): string {
    return join(this.tmpDir, `${process.pid}.${name}`);
  }

  async cleanTemp(): Promise<number> {
    let names: string[];
    try {
      names = await fs.readdir(this.tmpDir);
    } catch (e) {
      if (errno(e) === 'ENOENT') return 0;
      throw new AirlockError('CAS_IO', `cannot list ${this.tmpDir}`, { cause: e, details: { path: this.tmpDir } });
    }
    let removed = 0;
    for (const name of names) {
      const pid = TEMP_RE.exec(name)?.[1];
      if (pid !== undefined && pidAlive(Number(pid))) continue;
      const path = join(this.tmpDir, name);
      await io('remove a temp file', path, () => fs.rm(path, { recursive: true, force: true }));
      removed += 1;
    }
    return removed;
  }

  async #blobNames(): Promise<string[]> {
    try {
      return (await fs.readdir(this.blobDir)).sort();
    } catch (e) {
      if (errno(e) === 'ENOENT') return [];
      throw new AirlockError('CAS_IO', `cannot list ${this.blobDir}`, { cause: e, details: { path: this.blobDir } });
    }
  }

  #checkDigest(d: unknown): asserts d is Digest {
    if (!isDigest(d)) {
      throw new AirlockError('CAS_IO', `not a sha256 digest: ${JSON.stringify(d)}`, { details: { digest: d } });
    }
  }
}

/** sha256 of a regular file, streamed; null when it is not a readable regular file. */
async function hashFile(path: string): Promise<Digest | null> {
  try {
    const st = await fs.lstat(path);
    if (!st.isFile()) return null;
    const hash = createHash('sha256');
    for await (const chunk of fsCreateReadStream(path)) hash.update(chunk as Buffer);
    return `sha256:${hash.digest('hex')}`;
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw new AirlockError('CAS_IO', `cannot check ${path}`, { cause: e, details: { path } });
  }
}

/** A rename is durable only once the directory holding the new name is fsynced. */
async function fsyncDir(dir: string): Promise<void> {
  await io('fsync the blob directory', dir, async () => {
    const fh = await fs.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}

function onceOpen(stream: ReadStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
}

function missingOrIo(d: Digest, path: string, e: unknown): AirlockError {
  if (isAirlockError(e)) return e;
  const missing = errno(e) === 'ENOENT';
  return new AirlockError('CAS_IO', missing ? `blob ${d} is not in the store` : `cannot read blob ${d}`, {
    cause: e,
    details: { digest: d, path, reason: missing ? 'missing' : 'io' },
  });
}

/** Runs one filesystem act, turning a raw errno error into CAS_IO naming what was being done. */
async function io<T>(what: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isAirlockError(e)) throw e;
    throw new AirlockError('CAS_IO', `cannot ${what}: ${path}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      details: { path, errno: errno(e) },
    });
  }
}
