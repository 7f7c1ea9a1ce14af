import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isAirlockError } from '../errors.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { Cas } from './cas.js';

const REGISTER_TS = fileURLToPath(new URL('./testing/register-ts.mjs', import.meta.url));
const CAS_TS = fileURLToPath(new URL('./cas.ts', import.meta.url));

let dir: string;
let cas: Cas;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-cas-'));
  cas = await Cas.open(join(dir, 'artifacts'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isAirlockError(e), `expected an AirlockError ${code}, got ${String(e)}`).toBe(true);
  expect((e as { code: string }).code).toBe(code);
}

const tmpFiles = () => fs.readdir(cas.tmpDir);
const blobFiles = () => fs.readdir(cas.blobDir);

describe('Cas.put', () => {
  it('stores bytes, strings and streams under their sha256, in the OCI layout', async () => {
    const a = await cas.put(Buffer.from('hello'));
    expect(a).toEqual({ digest: sha256Digest('hello'), size: 5 });
    expect(cas.pathOf(a.digest)).toBe(join(dir, 'artifacts', 'blobs', 'sha256', a.digest.slice(7)));
    expect(await cas.put('hello')).toEqual(a);
    expect(await cas.put(Readable.from([Buffer.from('hel'), Buffer.from('lo')]))).toEqual(a);
    expect(await blobFiles()).toEqual([a.digest.slice(7)]);
    expect(await tmpFiles()).toEqual([]);
    expect((await cas.readBytes(a.digest)).toString()).toBe('hello');
    expect(await cas.size(a.digest)).toBe(5);
    expect(await cas.has(a.digest)).toBe(true);
    expect(await cas.has(sha256Digest('other'))).toBe(false);
  });

  it('streams large content without changing it', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const hash = createHash('sha256');
    for (let i = 0; i < 8; i++) hash.update(chunk);
    const ref = await cas.put(Readable.from(Array.from({ length: 8 }, () => chunk)));
    expect(ref).toEqual({ digest: `sha256:${hash.digest('hex')}`, size: 8 * 1024 * 1024 });
    const back = createHash('sha256');
    for await (const c of cas.createReadStream(ref.digest)) back.update(c as Buffer);
    expect(`sha256:${back.digest('hex')}`).toBe(ref.digest);
  });

  it('stores an empty blob', async () => {
    expect(await cas.put(Buffer.alloc(0))).toEqual({ digest: sha256Digest(''), size: 0 });
  });

  it('refuses content not matching expectedDigest (CAS_CORRUPT) and stores nothing', async () => {
    await expectCode(cas.put('hello', { expectedDigest: sha256Digest('bye') }), 'CAS_CORRUPT');
    expect(await blobFiles()).toEqual([]);
    expect(await tmpFiles()).toEqual([]);
    expect(await cas.put('hello', { expectedDigest: sha256Digest('hello') })).toEqual({
      digest: sha256Digest('hello'),
      size: 5,
    });
  });

  it('refuses content over maxBytes (CAS_IO) and leaves no temp file', async () => {
    await expectCode(cas.put(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]), { maxBytes: 15 }), 'CAS_IO');
    expect(await tmpFiles()).toEqual([]);
    expect(await blobFiles()).toEqual([]);
  });

  it('leaves no temp file when the source stream errors', async () => {
    const src = new Readable({
      read() {
        /* pushed below */
      },
    });
    src.push(Buffer.alloc(4096, 1));
    setTimeout(() => src.destroy(new Error('source broke')), 20);
    await expect(cas.put(src)).rejects.toThrow('source broke');
    expect(await tmpFiles()).toEqual([]);
    expect(await blobFiles()).toEqual([]);
  });

  it('aborts a stalled stream on signal, throwing the reason and removing the temp file', async () => {
    const src = new Readable({
      read() {
        /* never ends */
      },
    });
    src.push(Buffer.alloc(100));
    const ac = new AbortController();
    const reason = new Error('stop now');
    setTimeout(() => ac.abort(reason), 30);
    await expect(cas.put(src, { signal: ac.signal })).rejects.toBe(reason);
    expect(src.destroyed).toBe(true);
    expect(await tmpFiles()).toEqual([]);
    expect(await blobFiles()).toEqual([]);
  });

  it('rejects malformed digests', async () => {
    expect(() => cas.pathOf('sha256:../../etc/passwd' as Digest)).toThrow(/not a sha256 digest/);
    await expectCode(cas.size(sha256Digest('missing')), 'CAS_IO');
    expect(() => cas.createReadStream(sha256Digest('missing'))).toThrow(/not in the store/);
  });

  it('putFile stores a file and reports a missing one as CAS_IO', async () => {
    const f = join(dir, 'f.txt');
    await fs.writeFile(f, 'file content');
    expect((await cas.putFile(f)).digest).toBe(sha256Digest('file content'));
    await expectCode(cas.putFile(join(dir, 'nope')), 'CAS_IO');
  });
});

describe('Cas.readBytes on a hostile store', () => {
  it('refuses a blob swapped for a symlink to /dev/zero or a fifo, without reading it', async () => {
    const a = await cas.put('a');
    const b = await cas.put('b');
    await fs.rm(cas.pathOf(a.digest), { force: true });
    await fs.symlink('/dev/zero', cas.pathOf(a.digest));
    await expectCode(cas.readBytes(a.digest), 'CAS_CORRUPT');
    await fs.rm(cas.pathOf(b.digest), { force: true });
    execFileSync('mkfifo', [cas.pathOf(b.digest)]);
    await expectCode(cas.readBytes(b.digest), 'CAS_CORRUPT');
  });
});

describe('Cas.verifyAll', () => {
  it('reports altered content and misnamed files', async () => {
    const good = await cas.put('good');
    const bad = await cas.put('bad');
    await fs.chmod(cas.pathOf(bad.digest), 0o644);
    await fs.writeFile(cas.pathOf(bad.digest), 'tampered');
    await fs.writeFile(join(cas.blobDir, 'not-a-digest'), 'x');
    await expectCode(cas.readBytes(bad.digest), 'CAS_CORRUPT');

    const progress: number[] = [];
    const r = await cas.verifyAll({ onProgress: (p) => progress.push(p.checked) });
    expect(r.checked).toBe(3);
    expect(progress).toEqual([1, 2, 3]);
    expect(r.corrupt).toHaveLength(2);
    expect(r.corrupt).toContainEqual({
      digest: bad.digest,
      actualDigest: sha256Digest('tampered'),
      path: cas.pathOf(bad.digest),
    });
    expect(r.corrupt).toContainEqual({
      digest: 'sha256:not-a-digest',
      actualDigest: sha256Digest('x'),
      path: join(cas.blobDir, 'not-a-digest'),
    });
    expect(r.corrupt.map((c) => c.digest)).not.toContain(good.digest);
    expect(await cas.list()).toEqual([bad.digest, good.digest].sort());
  });
});

describe('crash safety', () => {
  it('a SIGKILLed put leaves no wrong blob and cleanTemp removes its leftover', async () => {
    const root = join(dir, 'artifacts');
    // the child streams ~1 MiB chunks slowly and says when it is mid-way
    const script = `
      import { Readable } from 'node:stream';
      const { Cas } = await import(${JSON.stringify(CAS_TS)});
      const cas = await Cas.open(${JSON.stringify(root)});
      let n = 0;
      const src = new Readable({
        read() {
          n += 1;
          if (n === 4) process.stdout.write('midway\\n');
          setTimeout(() => this.push(Buffer.alloc(1024 * 1024, n)), 10);
        },
      });
      await cas.put(src);
      process.stdout.write('finished\\n');
    `;
    const scriptPath = join(dir, 'child.mjs');
    await fs.writeFile(scriptPath, script);
    const child = spawn(process.execPath, ['--import', REGISTER_TS, scriptPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('midway')) resolve();
      });
      child.on('exit', () => reject(new Error(`child exited before mid-way: ${stderr}`)));
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // the half-written temp file is there, no blob is
    const left = await tmpFiles();
    expect(left).toHaveLength(1);
    expect((await fs.stat(join(cas.tmpDir, left[0]!))).size).toBeGreaterThan(0);
    expect(await blobFiles()).toEqual([]);
    expect((await cas.verifyAll()).corrupt).toEqual([]);

    expect(await cas.cleanTemp()).toBe(1);
    expect(await tmpFiles()).toEqual([]);
    // opening again is also a clean (nothing left to do)
    await Cas.open(root);
    expect(await tmpFiles()).toEqual([]);
  });

  it('cleanTemp leaves a live process’s temp files alone (any name it gives them), and removes the rest', async () => {
    const mine = join(cas.tmpDir, `${process.pid}.abcd.tmp`);
    // what a run builds in tmp/ (a context tar), named through tempPath
    const context = cas.tempPath('context-run1-0.tar');
    const dead = join(cas.tmpDir, `${2 ** 22 + 7}.context-run0-0.tar`);
    const stray = join(cas.tmpDir, 'garbage');
    for (const p of [mine, context, dead, stray]) await fs.writeFile(p, 'x');
    expect(await cas.cleanTemp()).toBe(2);
    expect((await tmpFiles()).sort()).toEqual([`${process.pid}.abcd.tmp`, `${process.pid}.context-run1-0.tar`]);
  });
});
