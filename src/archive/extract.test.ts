import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isAirlockError } from '../errors.js';
import { Cas } from '../store/cas.js';
import { sha256Digest } from '../util/digest.js';
import { extractTarSafe, tarToCas } from './extract.js';
import { makeTar, tarStream, type TarSpec } from './testing/make-tar.js';

let dir: string;
let outer: string;
let target: string;
let cas: Cas;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-extract-'));
  outer = join(dir, 'outer');
  target = join(outer, 'target');
  await fs.mkdir(target, { recursive: true });
  cas = await Cas.open(join(dir, 'cas'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Everything under `outer` except the target directory itself. */
async function outsideTarget(): Promise<string[]> {
  const all = await fs.readdir(outer, { recursive: true });
  return all.filter((p) => p !== 'target' && !p.startsWith('target/'));
}

const outputs: TarSpec[] = [
  { name: 'out/', type: 'directory' },
  { name: 'out/bin/', type: 'directory', mode: 0o555 },
  { name: 'out/bin/app', content: 'binary', mode: 0o755 },
  { name: 'out/app-link', type: 'symlink', linkname: 'bin/app' },
  { name: 'out/app-hard', type: 'link', linkname: 'out/bin/app', mode: 0o755 },
  { name: 'out/report.txt', content: 'ok\n' },
];

describe('tarToCas', () => {
  it('streams files into the CAS and describes every entry, sorted, prefix stripped', async () => {
    const entries = await tarToCas(tarStream(await makeTar(outputs)), cas, { stripPrefix: 'out' });
    expect(entries).toEqual([
      { path: 'app-hard', type: 'hardlink', mode: 0o755, size: 6, digest: sha256Digest('binary'), target: 'bin/app' },
      { path: 'app-link', type: 'symlink', mode: 0o644, size: 0, target: 'bin/app' },
      { path: 'bin', type: 'dir', mode: 0o555, size: 0 },
      { path: 'bin/app', type: 'file', mode: 0o755, size: 6, digest: sha256Digest('binary') },
      { path: 'report.txt', type: 'file', mode: 0o644, size: 3, digest: sha256Digest('ok\n') },
    ]);
    expect((await cas.readBytes(sha256Digest('ok\n'))).toString()).toBe('ok\n');
  });

  it('refuses entries outside stripPrefix', async () => {
    const tar = await makeTar([{ name: 'elsewhere/x', content: 'x' }]);
    await expect(tarToCas(tarStream(tar), cas, { stripPrefix: 'out' })).rejects.toSatisfy((e) =>
      isAirlockError(e, 'ARCHIVE_UNSAFE'),
    );
  });
});

describe('extractTarSafe', () => {
  it('unpacks files, directories, symlinks and hardlinks under the target', async () => {
    const entries = await extractTarSafe(tarStream(await makeTar(outputs)), target, { stripPrefix: 'out/' });
    expect(entries.map((e) => e.path)).toEqual(['app-hard', 'app-link', 'bin', 'bin/app', 'report.txt']);
    expect(readFileSync(join(target, 'bin/app'), 'utf8')).toBe('binary');
    expect(await fs.readlink(join(target, 'app-link'))).toBe('bin/app');
    const [a, h] = await Promise.all([fs.stat(join(target, 'bin/app')), fs.stat(join(target, 'app-hard'))]);
    expect(h.ino).toBe(a.ino);
    expect(a.mode & 0o7777).toBe(0o755);
    expect((await fs.stat(join(target, 'bin'))).mode & 0o7777).toBe(0o555);
    expect(entries.find((e) => e.path === 'bin/app')?.digest).toBe(sha256Digest('binary'));
    expect(await outsideTarget()).toEqual([]);
  });

  it('drops setuid/setgid bits', async () => {
    await extractTarSafe(tarStream(await makeTar([{ name: 'su', content: 'x', mode: 0o6755 }])), target);
    expect((await fs.stat(join(target, 'su'))).mode & 0o7777).toBe(0o755);
  });

  it('never follows a symlink already on disk in the target', async () => {
    await fs.symlink(outer, join(target, 'evil'));
    const tar = await makeTar([{ name: 'evil/planted', content: 'pwned' }]);
    await expect(extractTarSafe(tarStream(tar), target)).rejects.toSatisfy((e) => isAirlockError(e, 'ARCHIVE_UNSAFE'));
    expect(await outsideTarget()).toEqual([]);
  });
});

const malicious: Record<string, TarSpec[]> = {
  'absolute path': [{ name: '/etc/passwd', content: 'root::0:0::/:/bin/sh\n' }],
  'parent segment': [{ name: '../x', content: 'x' }],
  'parent segment inside': [{ name: 'a/../../x', content: 'x' }],
  'harmless-looking parent segment': [{ name: 'a/../x', content: 'x' }],
  'absolute symlink then a file through it': [
    { name: 'link', type: 'symlink', linkname: '/etc' },
    { name: 'link/passwd', content: 'x' },
  ],
  'relative symlink escaping': [{ name: 'up', type: 'symlink', linkname: '../../outer' }],
  'file through an inside symlink': [
    { name: 'sub/', type: 'directory' },
    { name: 'link', type: 'symlink', linkname: 'sub' },
    { name: 'link/passwd', content: 'x' },
  ],
  'symlink redirected by a later symlink': [
    { name: 'd/', type: 'directory' },
    { name: 'x', type: 'symlink', linkname: 'd/l/..' },
    { name: 'd/l', type: 'symlink', linkname: '..' },
  ],
  'hardlink escaping': [{ name: 'h', type: 'link', linkname: '../../x' }],
  'hardlink to an absolute path': [{ name: 'h', type: 'link', linkname: '/etc/passwd' }],
  'hardlink to a symlink pointing out': [
    { name: 'l', type: 'symlink', linkname: '/etc/passwd' },
    { name: 'h', type: 'link', linkname: 'l' },
  ],
  'character device': [{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }],
  'block device': [{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }],
  fifo: [{ name: 'pipe', type: 'fifo' }],
  'duplicate entry': [
    { name: 'f', content: 'a' },
    { name: 'f', type: 'symlink', linkname: '/etc' },
  ],
};

describe('refusals', () => {
  const passwd = readFileSync('/etc/passwd');
  for (const [what, entries] of Object.entries(malicious)) {
    it(`refuses ${what}, naming the entry, writing nothing outside`, async () => {
      const tar = await makeTar(entries);
      for (const run of [() => tarToCas(tarStream(tar), cas), () => extractTarSafe(tarStream(tar), target)]) {
        const err = await run().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isAirlockError(err, 'ARCHIVE_UNSAFE'), String(err)).toBe(true);
        expect((err as Error).message).toMatch(/refused archive entry "/);
      }
      expect(await outsideTarget()).toEqual([]);
      expect(readFileSync('/etc/passwd')).toEqual(passwd);
      // no symlink is ever created from a refused archive
      const made = await fs.readdir(target, { recursive: true, withFileTypes: true });
      expect(made.filter((d) => d.isSymbolicLink())).toEqual([]);
    });
  }
});
