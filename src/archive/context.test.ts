import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isAirlockError } from '../errors.js';
import { sha256Digest } from '../util/digest.js';
import { writeContextTar } from './context.js';
import { forEachTarEntry } from './tar-read.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-context-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Creates files (content string), directories (trailing `/`) and symlinks (`{ link }`) in order. */
async function tree(root: string, spec: Record<string, string | { link: string } | { mode: number; content: string }>) {
  for (const [p, v] of Object.entries(spec)) {
    const abs = join(root, p);
    if (p.endsWith('/')) {
      await fs.mkdir(abs, { recursive: true });
      continue;
    }
    await fs.mkdir(dirname(abs), { recursive: true });
    if (typeof v === 'string') await fs.writeFile(abs, v);
    else if ('link' in v) await fs.symlink(v.link, abs);
    else {
      await fs.writeFile(abs, v.content);
      await fs.chmod(abs, v.mode);
    }
  }
}

interface Seen {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  linkname: string | null;
  content: string;
}

async function readTar(file: string): Promise<Seen[]> {
  const out: Seen[] = [];
  await forEachTarEntry(createReadStream(file), async (h, body) => {
    let content = '';
    for await (const c of body) content += c.toString();
    out.push({
      name: h.name,
      type: h.type,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      uname: h.uname,
      gname: h.gname,
      mtime: h.mtime.getTime(),
      linkname: h.linkname,
      content,
    });
  });
  return out;
}

const basic = {
  'Dockerfile': 'FROM scratch\nCOPY . /\n',
  'src/': '',
  'src/main.c': 'int main(){return 0;}\n',
  'src/util/': '',
  'src/util/a.h': '#pragma once\n',
  'run.sh': { mode: 0o755, content: '#!/bin/sh\n' },
  'link-to-main': { link: 'src/main.c' },
  'link-outside': { link: '/etc/passwd' },
  'empty/': '',
};

describe('writeContextTar', () => {
  it('writes sorted entries with fixed headers, symlinks kept as symlinks', async () => {
    const ctx = join(dir, 'ctx');
    await tree(ctx, basic);
    const dest = join(dir, 'out', 'ctx.tar');
    const r = await writeContextTar(ctx, dest, { dockerfile: join(ctx, 'Dockerfile') });
    const bytes = readFileSync(dest);
    expect(r).toEqual({ digest: sha256Digest(bytes), size: bytes.length, entries: 9, dockerfileName: 'Dockerfile' });

    const seen = await readTar(dest);
    expect(seen.map((e) => e.name)).toEqual([
      'Dockerfile',
      'empty/',
      'link-outside',
      'link-to-main',
      'run.sh',
      'src/',
      'src/main.c',
      'src/util/',
      'src/util/a.h',
    ]);
    for (const e of seen) {
      expect(e).toMatchObject({ uid: 0, gid: 0, uname: '', gname: '', mtime: 0 });
    }
    const by = (n: string) => seen.find((e) => e.name === n)!;
    expect(by('run.sh')).toMatchObject({ type: 'file', mode: 0o755, content: '#!/bin/sh\n' });
    expect(by('link-outside')).toMatchObject({ type: 'symlink', linkname: '/etc/passwd', content: '' });
    expect(by('src/')).toMatchObject({ type: 'directory' });
  });

  it('is byte-identical for the same tree, whatever the mtimes and creation order', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await tree(a, basic);
    await tree(b, Object.fromEntries(Object.entries(basic).reverse()));
    await fs.utimes(join(b, 'src/main.c'), new Date(0), new Date(1_000_000));
    const ra = await writeContextTar(a, join(dir, 'a.tar'), { dockerfile: join(a, 'Dockerfile') });
    const ra2 = await writeContextTar(a, join(dir, 'a2.tar'), { dockerfile: join(a, 'Dockerfile') });
    const rb = await writeContextTar(b, join(dir, 'b.tar'), { dockerfile: join(b, 'Dockerfile') });
    expect(ra2.digest).toBe(ra.digest);
    expect(rb.digest).toBe(ra.digest);
    expect(readFileSync(join(dir, 'b.tar')).equals(readFileSync(join(dir, 'a.tar')))).toBe(true);

    // and any content or mode change shows
    await fs.chmod(join(b, 'src/main.c'), 0o600);
    expect((await writeContextTar(b, join(dir, 'b2.tar'), { dockerfile: join(b, 'Dockerfile') })).digest).not.toBe(ra.digest);
  });

  it('honours .dockerignore like Docker: exceptions, ** and always sending Dockerfile and .dockerignore', async () => {
    const ctx = join(dir, 'ctx');
    await tree(ctx, {
      '.dockerignore': [
        '# comment',
        '*.log',
        '**/*.tmp',
        'node_modules',
        '/secret/',
        'build',
        '!build/keep.txt',
        'Dockerfile',
        '.dockerignore',
        'readme.md',
        '',
      ].join('\n'),
      'Dockerfile': 'FROM scratch\n',
      'app.log': 'x',
      'README.md': 'case matters on Linux',
      'src/deep/x.tmp': 'x',
      'src/deep/x.c': 'x',
      'src/debug.log': 'kept: *.log matches only the top level',
      'node_modules/pkg/index.js': 'x',
      'secret/key': 'x',
      'build/keep.txt': 'kept',
      'build/drop.o': 'x',
    });
    const dest = join(dir, 'ctx.tar');
    await writeContextTar(ctx, dest, { dockerfile: join(ctx, 'Dockerfile') });
    expect((await readTar(dest)).map((e) => e.name)).toEqual([
      '.dockerignore',
      'Dockerfile',
      'README.md',
      'build/keep.txt', // no build/ entry: Docker walks into it for the exception only
      'src/',
      'src/debug.log',
      'src/deep/',
      'src/deep/x.c',
    ]);
  });

  it('keeps an ignored Dockerfile in an excluded directory', async () => {
    const ctx = join(dir, 'ctx');
    await tree(ctx, { '.dockerignore': 'docker\n', 'docker/app.Dockerfile': 'FROM scratch\n', 'docker/other': 'x', 'a': 'x' });
    const dest = join(dir, 'ctx.tar');
    const r = await writeContextTar(ctx, dest, { dockerfile: join(ctx, 'docker/app.Dockerfile') });
    expect(r.dockerfileName).toBe('docker/app.Dockerfile');
    expect((await readTar(dest)).map((e) => e.name)).toEqual(['.dockerignore', 'a', 'docker/app.Dockerfile']);
  });

  it('adds a Dockerfile from outside the context as .airlock.Dockerfile and ignores it for COPY', async () => {
    const ctx = join(dir, 'ctx');
    await tree(ctx, { '.dockerignore': '*.log', 'a.txt': 'a' });
    await fs.writeFile(join(dir, 'Outside.Dockerfile'), 'FROM scratch\nCOPY . /\n');
    const dest = join(dir, 'ctx.tar');
    const r = await writeContextTar(ctx, dest, { dockerfile: join(dir, 'Outside.Dockerfile') });
    expect(r.dockerfileName).toBe('.airlock.Dockerfile');
    const seen = await readTar(dest);
    expect(seen.map((e) => e.name)).toEqual(['.airlock.Dockerfile', '.dockerignore', 'a.txt']);
    expect(seen[0]!.content).toBe('FROM scratch\nCOPY . /\n');
    expect(seen[1]!.content).toBe('*.log\n.airlock.Dockerfile\n');

    // without a .dockerignore one is sent
    const ctx2 = join(dir, 'ctx2');
    await tree(ctx2, { 'a.txt': 'a' });
    await writeContextTar(ctx2, dest, { dockerfile: join(dir, 'Outside.Dockerfile') });
    expect((await readTar(dest)).find((e) => e.name === '.dockerignore')?.content).toBe('\n.airlock.Dockerfile\n');
  });

  it('refuses special files, naming them, unless ignored', async () => {
    const ctx = join(dir, 'ctx');
    await tree(ctx, { 'Dockerfile': 'FROM scratch\n', 'sub/': '' });
    execFileSync('mkfifo', [join(ctx, 'sub', 'pipe')]);
    const err = await writeContextTar(ctx, join(dir, 'x.tar'), { dockerfile: join(ctx, 'Dockerfile') }).catch((e: unknown) => e);
    expect(isAirlockError(err, 'CONTEXT_INVALID')).toBe(true);
    expect((err as Error).message).toContain('sub/pipe');
    await expect(fs.access(join(dir, 'x.tar'))).rejects.toThrow();

    await fs.writeFile(join(ctx, '.dockerignore'), 'sub/pipe\n');
    await expect(writeContextTar(ctx, join(dir, 'x.tar'), { dockerfile: join(ctx, 'Dockerfile') })).resolves.toMatchObject({
      entries: 3,
    });
  });

  it('never includes the tar it is writing, and refuses a missing Dockerfile', async () => {
    const ctx = join(dir, 'ctx');
    await tree(ctx, { 'Dockerfile': 'FROM scratch\n' });
    const r1 = await writeContextTar(ctx, join(ctx, 'context.tar'), { dockerfile: join(ctx, 'Dockerfile') });
    const r2 = await writeContextTar(ctx, join(ctx, 'context.tar'), { dockerfile: join(ctx, 'Dockerfile') });
    expect(r1.entries).toBe(1);
    expect(r2.digest).toBe(r1.digest);
    const err = await writeContextTar(ctx, join(dir, 'y.tar'), { dockerfile: join(ctx, 'Nope') }).catch((e: unknown) => e);
    expect(isAirlockError(err, 'CONTEXT_INVALID')).toBe(true);
  });
  it('leaves out excluded directories (the workspace under a context of `.`), so a run does not change its own context', async () => {
    const ctx = join(dir, 'ws');
    await tree(ctx, { 'Dockerfile': 'FROM scratch\n', 'src/a.txt': 'a', 'artifacts/blobs/sha256/x': 'blob', 'proofs/run/bundle.json': '{}' });
    const plain = await writeContextTar(ctx, join(dir, 'ws-all.tar'), { dockerfile: join(ctx, 'Dockerfile') });
    const excluded = await writeContextTar(ctx, join(dir, 'ws.tar'), { dockerfile: join(ctx, 'Dockerfile'), exclude: [join(ctx, 'artifacts'), join(ctx, 'proofs')] });
    expect(plain.entries).toBe(10);
    expect(excluded.entries).toBe(3);
    await tree(ctx, { 'artifacts/blobs/sha256/y': 'another blob' });
    expect((await writeContextTar(ctx, join(dir, 'ws2.tar'), { dockerfile: join(ctx, 'Dockerfile'), exclude: [join(ctx, 'artifacts'), join(ctx, 'proofs')] })).digest).toBe(excluded.digest);
  });
});
