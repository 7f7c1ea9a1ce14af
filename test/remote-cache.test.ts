import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signEnvelope, type Envelope } from '../src/proof/dsse.js';
import { generateSigningKey, writeKeyPair } from '../src/proof/keys.js';
import { openWorkspace } from '../src/run/workspace.js';
import { remoteCacheFromEnv } from '../src/store/remote/config.js';
import { sha256Digest } from '../src/util/digest.js';
import { busyboxSpec, REPO, writeTree } from './helpers.js';

/**
 * The shared remote cache against a real server: nginx with WebDAV PUT on loopback (what a
 * team can run; Bazel's HTTP remote-cache protocol is plain GET/HEAD/PUT on /cas/ and /ac/),
 * and fresh workspaces standing for fresh CI runners of the same commit.
 */

const BIN = join(REPO, 'bin/airlock');
const CELLS = ['alpha', 'beta', 'gamma'];
const SECRET = 'hunter2-not-to-be-seen';
/** Debian's bazel-bootstrap (scripts/setup.sh installs it); it builds a genrule offline. */
const HAS_BAZEL = execaSync('bazel', ['--version'], { reject: false }).exitCode === 0;

let dir: string;
let port: number;
let nginx: ResultPromise | undefined;
let keyPath: string;
let project: string;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: p } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return p;
}

const cacheUrl = () => `http://ci:${SECRET}@127.0.0.1:${port}/team`;
const served = (ns: 'cas' | 'ac', hex: string) => join(dir, 'data', 'team', ns, hex);

/** A fresh runner: the project's committed files (spec, locks/keys) in a new folder with its own artifacts/. */
async function runner(name: string): Promise<string> {
  const root = join(dir, name);
  await cp(project, root, { recursive: true });
  return root;
}

async function airlockRun(root: string, remote: string | undefined) {
  const r = await execa('node', [BIN, 'run', '--root', root, '--json'], {
    cwd: root,
    reject: false,
    env: { AIRLOCK_SIGNING_KEY: keyPath, ...(remote ? { AIRLOCK_REMOTE_CACHE: remote } : { AIRLOCK_REMOTE_CACHE: '' }) },
  });
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  const result = lines.at(-1)!;
  const status = Object.fromEntries((result.cells as { id: string; status: string }[]).map((c) => [c.id, c.status]));
  const warnings = lines.filter((l) => l.type === 'warning') as { code: string; message: string }[];
  const transcript = await readFile(join(result.bundleDir as string, 'transcript.jsonl'), 'utf8');
  return { exitCode: r.exitCode, stderr: r.stderr, stdout: r.stdout, result, status, warnings, transcript, lines };
}

/** The action-cache keys of the cells of a run, by cell id. */
function keysOf(transcript: string): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const line of transcript.trim().split('\n')) {
    const e = JSON.parse(line) as { phase: string; data: { cell?: string; state?: string; key?: string } };
    if (e.phase === 'cell' && e.data.state === 'finished' && e.data.key) keys[e.data.cell!] = e.data.key.slice('sha256:'.length);
  }
  return keys;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-remote-'));
  port = await freePort();
  for (const d of ['data/team', 'tmp', 'logs']) await mkdir(join(dir, d), { recursive: true });
  // every path nginx writes is under dir: no root, no /var/lib/nginx
  await writeFile(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
${process.getuid?.() === 0 ? 'user root root;  # as root, workers would drop to nobody, who cannot enter this temp dir' : ''}
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log;
events { worker_connections 64; }
http {
  log_format cache '$remote_user $request_method $uri $status';
  access_log ${dir}/logs/access.log cache;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/data;
    location / {
      dav_methods PUT DELETE;
      create_full_put_path on;
      client_max_body_size 0;
    }
  }
}
`,
  );
  nginx = execa('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { reject: false });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false);
    if (up) break;
    if (Date.now() > deadline) throw new Error(`nginx did not start: ${await readFile(join(dir, 'logs/error.log'), 'utf8').catch(() => '')}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  keyPath = join(dir, 'key', 'signing.key');
  project = join(dir, 'project');
  // the project trusts the CI signing key (locks/keys/ is committed)
  await writeKeyPair(generateSigningKey(), { privatePath: keyPath, locksDir: join(project, 'locks') });
  await writeTree(
    project,
    busyboxSpec(
      'remote',
      CELLS.map((c) => `  ${c}:\n    image: box\n    steps:\n      - name: make\n        run: ["sh", "-c", "echo ${c} > /out/${c}.txt; echo built ${c}"]\n    outputs: ["/out"]\n`).join(''),
    ),
  );
});

afterAll(async () => {
  nginx?.kill('SIGTERM');
  await nginx;
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the shared remote cache (nginx WebDAV, Bazel HTTP protocol)', () => {
  let first: Awaited<ReturnType<typeof airlockRun>>;

  it('a first runner fills it: every blob under /cas/<sha256>, every passing cell under /ac/<key>, signed', async () => {
    first = await airlockRun(await runner('first'), cacheUrl());
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.status).toEqual({ alpha: 'passed', beta: 'passed', gamma: 'passed' });
    expect(first.warnings).toEqual([]);
    const keys = keysOf(first.transcript);
    for (const c of CELLS) {
      const envelope = JSON.parse(await readFile(served('ac', keys[c]!), 'utf8')) as Envelope;
      expect(envelope.payloadType).toBe('application/vnd.airlock.cached-cell.v1+json');
      const cell = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as { outputs: { entries: { path: string; digest: string }[] }[] };
      const out = cell.outputs[0]!.entries.find((e) => e.path === `${c}.txt`)!;
      expect(await readFile(served('cas', out.digest.slice(7)), 'utf8')).toBe(`${c}\n`);
    }
    // the spec and the build context went up too: a blob is a blob
    expect((await readdir(join(dir, 'data/team/cas'))).length).toBeGreaterThan(CELLS.length * 2);
    // Basic auth from the URL's user info reached the server; the password reached nothing else
    expect(await readFile(join(dir, 'logs/access.log'), 'utf8')).toMatch(/^ci PUT \/team\/ac\//m);
    expect(first.stdout + first.stderr + first.transcript).not.toContain(SECRET);
  });

  it('a fresh runner with its own local store gets every cell from it, and its bundle verifies', async () => {
    const second = await airlockRun(await runner('second'), cacheUrl());
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.status).toEqual({ alpha: 'cached', beta: 'cached', gamma: 'cached' });
    expect(second.result.verified).toMatchObject({ verified: true });
    expect(second.warnings).toEqual([]);
    // the transcript says where each hit came from: the first runner's run, through the remote cache, vouched for by the CI key
    const cached = second.transcript
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { phase: string; data: Record<string, any> })
      .filter((e) => e.phase === 'cell' && e.data.status === 'cached');
    expect(cached).toHaveLength(3);
    for (const e of cached) {
      expect(e.data.cachedFrom).toMatchObject({ runId: first.result.runId, remote: { cache: `http://127.0.0.1:${port}/team`, keyid: first.result.verified.keyid } });
    }
    expect(second.stdout + second.stderr + second.transcript).not.toContain(SECRET);
  });

  it('a corrupt blob on the server is refused: the cell runs, and its good copy replaces the bad one', async () => {
    const keys = keysOf(first.transcript);
    const envelope = JSON.parse(await readFile(served('ac', keys.beta!), 'utf8')) as Envelope;
    const cell = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as { outputs: { entries: { path: string; digest: string }[] }[] };
    const hex = cell.outputs[0]!.entries.find((e) => e.path === 'beta.txt')!.digest.slice(7);
    await writeFile(served('cas', hex), 'not beta\n');
    const third = await airlockRun(await runner('third'), cacheUrl());
    expect(third.exitCode, third.stderr).toBe(0);
    expect(third.status).toEqual({ alpha: 'cached', beta: 'passed', gamma: 'cached' });
    // the refused copy, and the entry that named it not used
    expect(third.warnings).toEqual([
      expect.objectContaining({ code: 'CAS_CORRUPT', message: expect.stringContaining(hex) }),
      expect.objectContaining({ code: 'REMOTE_CACHE_ERROR', message: expect.stringContaining(keys.beta!) }),
    ]);
    expect(await readFile(served('cas', hex), 'utf8')).toBe('beta\n');
  });

  it('an entry no trusted key signed, a tampered one and an unsigned one are not trusted', async () => {
    const keys = keysOf(first.transcript);
    const original = JSON.parse(await readFile(served('ac', keys.alpha!), 'utf8')) as Envelope;
    const payload = Buffer.from(original.payload, 'base64');
    // alpha: the same cell, signed by a key the project does not trust
    await writeFile(served('ac', keys.alpha!), JSON.stringify(signEnvelope(original.payloadType, payload, generateSigningKey())));
    // beta: a trusted signature over a payload changed afterwards
    const beta = JSON.parse(await readFile(served('ac', keys.beta!), 'utf8')) as Envelope;
    const changed = Buffer.from(Buffer.from(beta.payload, 'base64').toString('utf8').replace('"durationMs":', '"durationMs":1'), 'utf8');
    await writeFile(served('ac', keys.beta!), JSON.stringify({ ...beta, payload: changed.toString('base64') }));
    // gamma: the cached cell itself, no envelope at all
    const gamma = JSON.parse(await readFile(served('ac', keys.gamma!), 'utf8')) as Envelope;
    await writeFile(served('ac', keys.gamma!), Buffer.from(gamma.payload, 'base64'));

    const fourth = await airlockRun(await runner('fourth'), cacheUrl());
    expect(fourth.exitCode, fourth.stderr).toBe(0);
    expect(fourth.status).toEqual({ alpha: 'passed', beta: 'passed', gamma: 'passed' });
    expect(fourth.warnings.map((w) => w.code).sort()).toEqual(['CACHE_ENTRY_INVALID', 'KEY_UNTRUSTED', 'SIGNATURE_INVALID']);
    // what the runner proved itself replaced the refused entries: the next fresh runner hits again
    const fifth = await airlockRun(await runner('fifth'), cacheUrl());
    expect(fifth.status).toEqual({ alpha: 'cached', beta: 'cached', gamma: 'cached' });
    expect(fifth.warnings).toEqual([]);
  });

  it('the server down is one warning and a passing run on the local stores', async () => {
    const root = await runner('down');
    const nobody = `http://127.0.0.1:${await freePort()}/team`;
    const down = await airlockRun(root, nobody);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(down.status).toEqual({ alpha: 'passed', beta: 'passed', gamma: 'passed' });
    expect(down.warnings).toEqual([expect.objectContaining({ code: 'REMOTE_CACHE_UNAVAILABLE', message: expect.stringContaining('local cache only') })]);
    expect(down.result.verified).toMatchObject({ verified: true });
    // for people: one line on stderr, and PASS
    const human = await execa('node', [BIN, 'run', '--root', root, '--rerun'], { cwd: root, reject: false, env: { AIRLOCK_SIGNING_KEY: keyPath, AIRLOCK_REMOTE_CACHE: nobody } });
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stderr.split('\n').filter((l) => l.includes('warn'))).toEqual([expect.stringMatching(/^ {2}warn {3}cannot reach the remote cache http:\/\/127\.0\.0\.1:\d+\/team \(ECONNREFUSED\): going on with the local cache only$/)]);
    expect(human.stdout.trim().split('\n').at(-1)).toBe('PASS');
  });

  it.skipIf(!HAS_BAZEL)('a real Bazel client reads and writes the same server, beside airlock', async () => {
    const ws = join(dir, 'bazel-ws');
    await writeTree(ws, { WORKSPACE: '', BUILD: 'genrule(name = "hello", outs = ["hello.txt"], cmd = "echo hello from bazel > $@")\n' });
    const bazel = (outputRoot: string) =>
      execa('bazel', [`--output_user_root=${join(dir, outputRoot)}`, '--batch', 'build', '//:hello', `--remote_cache=${cacheUrl()}`, '--spawn_strategy=standalone'], { cwd: ws, reject: false });
    const wrote = await bazel('bazel-a');
    expect(wrote.exitCode, wrote.stderr).toBe(0);
    // Bazel's output is in /cas/ by its sha256, next to airlock's blobs, and its ActionResult in /ac/
    const hello = sha256Digest('hello from bazel\n');
    expect(await readFile(served('cas', hello.slice(7)), 'utf8')).toBe('hello from bazel\n');
    // a second Bazel with nothing local takes the action from the server
    const read = await bazel('bazel-b');
    expect(read.exitCode, read.stderr).toBe(0);
    expect(read.stderr).toMatch(/1 remote cache hit/);
    // and airlock's two-level CAS reads what Bazel wrote, checked by digest
    const reader = await openWorkspace(join(dir, 'reads-bazel'), { remoteCache: remoteCacheFromEnv({ AIRLOCK_REMOTE_CACHE: cacheUrl() }) });
    try {
      expect((await reader.cas.readBytes(hello)).toString('utf8')).toBe('hello from bazel\n');
    } finally {
      await reader.settle();
      reader.close();
    }
  });
});
