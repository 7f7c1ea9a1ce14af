import { chmod, cp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, writeKeyPair } from '../src/proof/keys.js';
import { REPO, sandbox, writeTree } from './helpers.js';

const BIN = join(REPO, 'bin/airlock');
const COMMANDS = ['run', 'smoke', 'matrix', 'explain', 'repro', 'replay', 'export', 'fetch', 'lock', 'verify', 'keygen', 'base', 'gc', 'cas', 'schema'];

function airlock(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  return execa('node', [BIN, ...args], { reject: false, cwd: opts.cwd ?? REPO, env: opts.env ?? {} });
}

describe('the CLI surface', () => {
  it.each(COMMANDS)('%s --help prints its usage and exits 0', async (cmd) => {
    const r = await airlock([cmd, '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: airlock ${cmd}`));
    expect(r.stdout).toContain('--json');
  });

  it('top-level help lists every command and the exit codes', async () => {
    const r = await airlock(['--help']);
    expect(r.exitCode).toBe(0);
    for (const cmd of COMMANDS) expect(r.stdout).toContain(`  ${cmd} `);
    expect(r.stdout).toContain('7 bundle not verified');
  });

  it('an unknown flag is a usage error (exit 2), not ignored', async () => {
    const r = await airlock(['run', '--frobnicate']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("Unknown option '--frobnicate'");
  });

  it('an invalid spec exits 4 naming file, line:column, path and what was expected — also as JSON', async () => {
    const sb = await sandbox();
    await writeTree(sb.dir, {
      'airlock.yaml': 'version: 1\nname: bad\nimages:\n  box: { dockerfile: Dockerfile, context: . }\nenvironments:\n  e:\n    image: box\n    steps:\n      - run: 42\n',
    });
    const human = await airlock(['run', '--root', sb.dir], { cwd: sb.dir });
    expect(human.exitCode).toBe(4);
    expect(human.stderr).toMatch(/airlock\.yaml:9:\d+ +environments\.e\.steps\[0\]\.run: expected .*got number/);
    const json = await airlock(['run', '--root', sb.dir, '--json'], { cwd: sb.dir });
    expect(json.exitCode).toBe(4);
    const err = JSON.parse(json.stdout.trim().split('\n').at(-1)!);
    expect(err).toMatchObject({ type: 'error', code: 'SPEC_INVALID', exitCode: 4 });
    expect(err.details.issues[0]).toMatchObject({ path: 'environments.e.steps[0].run', line: 9 });
    sb.close();
  });

  it('keygen writes a 0600 private key outside locks/ and never prints it', async () => {
    const sb = await sandbox();
    const out = join(sb.dir, 'secret', 'k.pem');
    const r = await airlock(['keygen', '--out', out, '--root', sb.dir, '--json']);
    expect(r.exitCode).toBe(0);
    const result = JSON.parse(r.stdout);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const pem = await readFile(out, 'utf8');
    const body = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    expect(r.stdout + r.stderr).not.toContain(body);
    expect(await readdir(join(sb.dir, 'locks', 'keys'))).toEqual([`${result.keyid}.pub.pem`]);
    const again = await airlock(['keygen', '--out', out, '--root', sb.dir]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain('refusing to overwrite');
    sb.close();
  });
});

describe('verify and cas verify on a real bundle, through the CLI', () => {
  let root: string;
  let bundle: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    const sb = await sandbox();
    root = sb.dir;
    sb.close();
    const keyPath = join(root, 'key', 'signing.key');
    await writeKeyPair(generateSigningKey(), { privatePath: keyPath, locksDir: join(root, 'locks') });
    env = { AIRLOCK_SIGNING_KEY: keyPath };
    const r = await airlock(['run', '--spec', join(REPO, 'airlock.yaml'), '--root', root, '--json'], { env });
    expect(r.exitCode).toBe(0);
    bundle = JSON.parse(r.stdout.trim().split('\n').at(-1)!).bundleDir;
  });

  /** A copy of the bundle and its CAS, tampered by `mutate`, then verified. */
  async function tamperedVerify(mutate: (dir: string, cas: string) => Promise<void>, extra: string[] = []) {
    const copy = join(root, `copy-${Math.random().toString(16).slice(2)}`);
    await cp(bundle, join(copy, 'proofs', 'b'), { recursive: true });
    await cp(join(root, 'artifacts', 'blobs'), join(copy, 'artifacts', 'blobs'), { recursive: true });
    await mutate(join(copy, 'proofs', 'b'), join(copy, 'artifacts'));
    const r = await airlock(['verify', join(copy, 'proofs', 'b'), '--root', root, '--json', ...extra]);
    return { exitCode: r.exitCode, out: JSON.parse(r.stdout.trim().split('\n').at(-1)!) };
  }

  async function flipByte(file: string, at = (n: number) => Math.floor(n / 2)) {
    await chmod(file, 0o644);
    const b = await readFile(file);
    const i = at(b.length);
    b[i] = b[i]! ^ 0x01;
    await writeFile(file, b);
  }

  it('an untouched bundle verifies (exit 0)', async () => {
    const r = await tamperedVerify(async () => undefined);
    expect(r.exitCode).toBe(0);
    expect(r.out).toMatchObject({ type: 'result', ok: true });
  });

  it('one byte of an output blob → BLOB_DIGEST_MISMATCH naming the output', async () => {
    const r = await tamperedVerify(async (dir, cas) => {
      const manifest = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8'));
      const output = manifest.blobs.find((b: { role: string }) => b.role === 'output');
      await flipByte(join(cas, 'blobs', 'sha256', output.digest.slice(7)));
    });
    expect(r.exitCode).toBe(7);
    expect(r.out.code).toBe('BLOB_DIGEST_MISMATCH');
    expect(r.out.message).toMatch(/smoke(-gvisor|-vm)?\/out\/report\.txt/);
  });

  it('one byte of the transcript → the chain breaks', async () => {
    const r = await tamperedVerify((dir) => flipByte(join(dir, 'transcript.jsonl'), () => 30));
    expect(r.exitCode).toBe(7);
    expect(['TRANSCRIPT_MALFORMED', 'TRANSCRIPT_CHAIN_BROKEN']).toContain(r.out.code);
  });

  it('a changed payload → SIGNATURE_INVALID', async () => {
    const r = await tamperedVerify(async (dir) => {
      const env = JSON.parse(await readFile(join(dir, 'envelope.dsse.json'), 'utf8'));
      const payload = Buffer.from(env.payload, 'base64').toString('utf8').replace('"passed"', '"failed"');
      env.payload = Buffer.from(payload).toString('base64');
      await writeFile(join(dir, 'envelope.dsse.json'), JSON.stringify(env));
    });
    expect(r.out.code).toBe('SIGNATURE_INVALID');
  });

  it('a changed signature → SIGNATURE_INVALID', async () => {
    const r = await tamperedVerify(async (dir) => {
      const env = JSON.parse(await readFile(join(dir, 'envelope.dsse.json'), 'utf8'));
      const sig = Buffer.from(env.signatures[0].sig, 'base64');
      sig[3] = sig[3]! ^ 0x80;
      env.signatures[0].sig = sig.toString('base64');
      await writeFile(join(dir, 'envelope.dsse.json'), JSON.stringify(env));
    });
    expect(r.out.code).toBe('SIGNATURE_INVALID');
  });

  it('another key swapped in → KEY_UNTRUSTED', async () => {
    const other = join(root, 'other');
    const paths = await writeKeyPair(generateSigningKey(), { privatePath: join(other, 'k'), locksDir: join(other, 'locks') });
    const r = await tamperedVerify(async () => undefined, ['--key', paths.publicPath]);
    expect(r.exitCode).toBe(7);
    expect(r.out.code).toBe('KEY_UNTRUSTED');
  });

  it('cas verify names a corrupt blob (exit 8)', async () => {
    const copy = join(root, 'cascopy');
    await cp(join(root, 'artifacts', 'blobs'), join(copy, 'artifacts', 'blobs'), { recursive: true });
    const names = await readdir(join(copy, 'artifacts', 'blobs', 'sha256'));
    await flipByte(join(copy, 'artifacts', 'blobs', 'sha256', names[0]!));
    const r = await airlock(['cas', 'verify', '--root', copy]);
    expect(r.exitCode).toBe(8);
    expect(r.stderr).toContain(names[0]);
    const ok = await airlock(['cas', 'verify', '--root', root, '--json']);
    expect(ok.exitCode).toBe(0);
    expect(JSON.parse(ok.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'result', corrupt: [] });
  });
});
