import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, writeKeyPair } from '../src/proof/keys.js';
import { busyboxSpec, REPO, sandbox, writeTree } from './helpers.js';

const BIN = join(REPO, 'bin/airlock');
const COMMANDS = ['run', 'smoke', 'matrix', 'explain', 'repro', 'replay', 'export', 'fetch', 'lock', 'verify', 'keygen', 'base', 'gc', 'cas', 'schema'];
const VERSION = (JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

function airlock(args: string[], opts: { cwd?: string; env?: Record<string, string>; node?: string[] } = {}) {
  return execa('node', [...(opts.node ?? []), BIN, ...args], { reject: false, cwd: opts.cwd ?? REPO, env: opts.env ?? {} });
}

const validLine = addFormats(new Ajv({ strict: true, allErrors: true })).compile(JSON.parse(await readFile(join(REPO, 'spec/cli-output.schema.json'), 'utf8')));

/**
 * The --json contract: every stdout line validates against spec/cli-output.schema.json
 * and the last one is the command's result or error. Returns that last line.
 */
function contract(stdout: string, command: string | null): Record<string, any> {
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  for (const line of lines) expect(validLine(line) ? [] : validLine.errors, JSON.stringify(line).slice(0, 200)).toEqual([]);
  const last = lines.at(-1)!;
  expect(['result', 'error']).toContain(last.type);
  expect(last.command).toBe(command);
  expect(lines.slice(0, -1).every((l) => l.type !== 'result' && l.type !== 'error')).toBe(true);
  return last;
}

/** Every module a command loaded (ESM resolutions and CommonJS requires), via test/fixtures/loaded-modules. */
async function loadedModules(args: string[]): Promise<{ exitCode: number | undefined; modules: string[] }> {
  const out = join(await mkdtemp(join(tmpdir(), 'airlock-modules-')), 'loaded.txt');
  const r = await airlock(args, { node: ['--import', join(REPO, 'test/fixtures/loaded-modules/record.mjs')], env: { AIRLOCK_LOADED_MODULES: out } });
  return { exitCode: r.exitCode, modules: (await readFile(out, 'utf8')).split('\n').filter(Boolean) };
}

/** Packages `verify` must never load: engine, HTTP, process spawning, the SQLite ledger. */
const NOT_FOR_VERIFY = ['dockerode', 'undici', 'execa', 'better-sqlite3'];
/** Node's own modules for the same: spawning processes, sockets, HTTP. */
const BUILTINS_NOT_FOR_VERIFY = ['child_process', 'net', 'tls', 'http', 'https', 'http2', 'dgram'];
const packagesIn = (modules: string[]) => new Set(modules.flatMap((m) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(m)?.[1] ?? []));
const builtinsIn = (modules: string[]) => new Set(modules.flatMap((m) => /^node:([^/]+)/.exec(m)?.[1] ?? []));

/** esbuild's metafile of the bundled CLI (scripts/bundle.mjs): which sources and imports each chunk holds. */
interface BundleMeta {
  outputs: Record<string, { entryPoint?: string; inputs: Record<string, unknown>; imports: { path: string; kind: string; external?: boolean }[] }>;
}
const BUNDLE_META = join(REPO, 'dist/airlock/meta.json');

/**
 * What loaded modules stand for: a chunk of the bundled CLI (dist/airlock/) stands for the
 * sources and packages compiled into it, as its metafile says; any other module for itself.
 */
async function expandBundled(modules: string[]): Promise<string[]> {
  if (!modules.some((m) => m.includes('/dist/airlock/'))) return modules;
  const meta = JSON.parse(await readFile(BUNDLE_META, 'utf8')) as BundleMeta;
  return modules.flatMap((m) => {
    const at = m.indexOf('/dist/airlock/');
    if (at < 0) return [m];
    const chunk = meta.outputs[m.slice(at + 1)];
    expect(chunk, `${m} in ${BUNDLE_META}`).toBeDefined();
    return [m, ...Object.keys(chunk!.inputs)];
  });
}

/**
 * Every source, package and builtin the bundle can load for a command, read from the
 * metafile: the chunks main.js imports, plus those the command's dynamic import() reaches,
 * each with the chunks it imports in turn (dynamic imports of the main chunk are other commands').
 */
function bundleClosure(meta: BundleMeta, commandSource: string): string[] {
  const outputs = Object.entries(meta.outputs);
  const main = outputs.find(([, o]) => o.entryPoint === 'src/cli/main.ts')?.[0];
  const body = outputs.find(([, o]) => Object.hasOwn(o.inputs, commandSource))?.[0];
  expect([main, body]).not.toContain(undefined);
  const seen = new Set<string>();
  const found: string[] = [];
  const visit = (name: string, dynamicToo: boolean) => {
    if (seen.has(name)) return;
    seen.add(name);
    const o = meta.outputs[name]!;
    found.push(...Object.keys(o.inputs));
    for (const i of o.imports) {
      if (i.external) found.push(i.path.startsWith('node:') ? i.path : `node_modules/${i.path}`);
      else if (i.kind === 'import-statement' || dynamicToo) visit(i.path, dynamicToo);
    }
  };
  visit(main!, false);
  visit(body!, true);
  return found;
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

  it('an unknown flag is a usage error (exit 2), not ignored, with the nearest flag suggested', async () => {
    const r = await airlock(['run', '--frobnicate']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("Unknown option '--frobnicate'");
    const typo = await airlock(['verify', 'x', '--jsn']);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain(`Unknown option '--jsn' (did you mean "--json"?)`);
  });

  it('an unknown command is a usage error with the nearest command suggested, also as JSON', async () => {
    const r = await airlock(['verfy', 'x']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('airlock: error [USAGE]: unknown command "verfy" (did you mean "verify"?); run airlock --help');
    const json = await airlock(['verfy', '--json']);
    expect(json.exitCode).toBe(2);
    expect(contract(json.stdout, null)).toMatchObject({ type: 'error', ok: false, exitCode: 2, code: 'USAGE' });
  });

  it.each(['verify', 'run'])('help %s prints the same usage as its --help', async (cmd) => {
    const viaHelp = await airlock(['help', cmd]);
    expect(viaHelp.exitCode).toBe(0);
    expect(viaHelp.stdout).toBe((await airlock([cmd, '--help'])).stdout);
    const unknown = await airlock(['help', `${cmd}x`]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain(`(did you mean "${cmd}"?)`);
  });

  it.each(['-V', '--version'])('%s prints the version', async (flag) => {
    const r = await airlock([flag]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(VERSION);
  });

  it('the package is private and `npx airlock` runs this CLI inside the repo, from a subfolder too', async () => {
    expect(JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8'))).toMatchObject({ name: 'airlock', private: true });
    for (const cwd of [REPO, join(REPO, 'examples')]) {
      const r = await execa('npx', ['--no-install', 'airlock', '-V'], { reject: false, cwd });
      expect(r.stdout, cwd).toBe(VERSION);
    }
  });

  it('--help and verify load no engine, HTTP, process-spawning or SQLite code', async () => {
    const help = await loadedModules(['--help']);
    expect(help.exitCode).toBe(0);
    expect([...packagesIn(help.modules)]).toEqual([]);
    const verify = await loadedModules(['verify', join(tmpdir(), 'no-such-bundle')]);
    expect(verify.exitCode).toBe(7);
    const modules = await expandBundled(verify.modules);
    expect(modules.some((m) => /(^|\/)(src\/verify\/index\.ts|dist\/verify\/index\.js)$/.test(m))).toBe(true);
    for (const pkg of NOT_FOR_VERIFY) expect(packagesIn(modules).has(pkg), pkg).toBe(false);
    for (const mod of BUILTINS_NOT_FOR_VERIFY) expect(builtinsIn(modules).has(mod), `node:${mod}`).toBe(false);
  });

  it('bin/airlock runs the bundle, whose verify chunks hold no engine, HTTP, process-spawning or SQLite code', async () => {
    const help = await loadedModules(['--help']);
    expect(help.modules.some((m) => m.endsWith('/dist/airlock/main.js')), 'bundle run (npm run build, or scripts/setup.sh)').toBe(true);
    // every chunk verify could load, not only those this run did: a new import anywhere on its path is seen
    const closure = bundleClosure(JSON.parse(await readFile(BUNDLE_META, 'utf8')) as BundleMeta, 'src/cli/commands/verify.ts');
    expect(closure).toContain('src/verify/index.ts');
    for (const pkg of NOT_FOR_VERIFY) expect(packagesIn(closure).has(pkg), pkg).toBe(false);
    for (const mod of BUILTINS_NOT_FOR_VERIFY) expect(builtinsIn(closure).has(mod), `node:${mod}`).toBe(false);
    // zod is compiled in, without the locales airlock never uses (scripts/bundle.mjs)
    expect(closure.some((m) => m.startsWith('node_modules/zod/'))).toBe(true);
    expect(closure.filter((m) => m.includes('zod/v4/locales/') && !m.endsWith('/en.js') && !m.endsWith('/index.js'))).toEqual([]);
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
    const result = contract(r.stdout, 'keygen');
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
    // every event of a real run and its result follow the --json contract
    bundle = contract(r.stdout, 'run').bundleDir;
  });

  /** A copy of the bundle and its CAS, tampered by `mutate`, then verified. */
  async function tamperedVerify(mutate: (dir: string, cas: string) => Promise<void>, extra: string[] = []) {
    const copy = join(root, `copy-${Math.random().toString(16).slice(2)}`);
    await cp(bundle, join(copy, 'proofs', 'b'), { recursive: true });
    await cp(join(root, 'artifacts', 'blobs'), join(copy, 'artifacts', 'blobs'), { recursive: true });
    await mutate(join(copy, 'proofs', 'b'), join(copy, 'artifacts'));
    const r = await airlock(['verify', join(copy, 'proofs', 'b'), '--root', root, '--json', ...extra]);
    const out = contract(r.stdout, 'verify');
    expect(out.exitCode).toBe(r.exitCode);
    return { exitCode: r.exitCode, out };
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
    expect(r.out).toMatchObject({ type: 'result', schemaVersion: 1, command: 'verify', ok: true, exitCode: 0 });
  });

  it('verifying a real bundle loads no engine, HTTP, process-spawning or SQLite code', async () => {
    const r = await loadedModules(['verify', bundle, '--root', root]);
    expect(r.exitCode).toBe(0);
    const modules = await expandBundled(r.modules);
    for (const pkg of NOT_FOR_VERIFY) expect(packagesIn(modules).has(pkg), pkg).toBe(false);
    for (const mod of BUILTINS_NOT_FOR_VERIFY) expect(builtinsIn(modules).has(mod), `node:${mod}`).toBe(false);
  });

  it('explain, gc, cas verify and schema --check follow the --json contract', async () => {
    const explained = await airlock(['explain', 'smoke', '--root', root, '--json']);
    expect(contract(explained.stdout, 'explain')).toMatchObject({ ok: true, cell: 'smoke' });
    const gc = await airlock(['gc', '--root', root, '--json']);
    expect(contract(gc.stdout, 'gc')).toMatchObject({ ok: true, exitCode: 0 });
    const cas = await airlock(['cas', 'verify', '--root', root, '--json']);
    expect(contract(cas.stdout, 'cas')).toMatchObject({ ok: true, corrupt: [] });
    const schema = await airlock(['schema', '--check', '--json']);
    expect(contract(schema.stdout, 'schema').exitCode).toBe(schema.exitCode);
    const noCell = await airlock(['explain', 'no-such-cell', '--root', root, '--json']);
    expect(contract(noCell.stdout, 'explain')).toMatchObject({ type: 'error', ok: false, exitCode: 2, code: 'USAGE' });
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

describe('finding the spec and the workspace', () => {
  /** A project whose spec (`name`) is at its root and an empty subfolder a/b, in a fresh temp dir. */
  async function project(name = 'airlock.yaml'): Promise<{ dir: string; sub: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-find-'));
    const files = busyboxSpec('find', '  e:\n    image: box\n    steps:\n      - run: ["true"]\n');
    await writeTree(dir, { Dockerfile: files.Dockerfile!, [name]: files['airlock.yaml']! });
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    return { dir, sub: join(dir, 'a', 'b') };
  }

  it('run from a subfolder uses the spec above and its workspace, says so once, and makes none in the subfolder', async () => {
    const { dir, sub } = await project();
    const r = await airlock(['fetch', '--json'], { cwd: sub });
    expect(r.exitCode).toBe(0);
    expect(contract(r.stdout, 'fetch')).toMatchObject({ ok: true, inputs: [] });
    expect(r.stderr.split('\n').filter((l) => l.includes('workspace'))).toEqual([`airlock: workspace ${dir} (the folder of ../../airlock.yaml)`]);
    expect(existsSync(join(dir, 'artifacts'))).toBe(true);
    expect(await readdir(sub)).toEqual([]);
  });

  it('airlock.yml is found too; in the spec folder nothing is said', async () => {
    const { dir } = await project('airlock.yml');
    const r = await airlock(['fetch'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).not.toContain('workspace');
  });

  it.each([
    ['-f', (spec: string) => ({ args: ['-f', spec], env: {} })],
    ['--file', (spec: string) => ({ args: ['--file', spec], env: {} })],
    ['--spec', (spec: string) => ({ args: ['--spec', spec], env: {} })],
    ['AIRLOCK_FILE', (spec: string) => ({ args: [], env: { AIRLOCK_FILE: spec } })],
  ])('%s names the spec; its folder is the workspace', async (_, how) => {
    const { dir } = await project('other.yaml');
    const elsewhere = await mkdtemp(join(tmpdir(), 'airlock-cwd-'));
    const { args, env } = how(join(dir, 'other.yaml'));
    const r = await airlock(['fetch', ...args], { cwd: elsewhere, env });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(`airlock: workspace ${dir}`);
    expect(existsSync(join(dir, 'artifacts'))).toBe(true);
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it('no spec here or above: SPEC_NOT_FOUND (exit 4) saying how to name one, and nothing created', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'airlock-nospec-'));
    const r = await airlock(['run', '--json'], { cwd: empty });
    expect(r.exitCode).toBe(4);
    expect(contract(r.stdout, 'run')).toMatchObject({ code: 'SPEC_NOT_FOUND', exitCode: 4 });
    expect(r.stdout).toContain('-f FILE or AIRLOCK_FILE');
    expect(await readdir(empty)).toEqual([]);
  });
});
