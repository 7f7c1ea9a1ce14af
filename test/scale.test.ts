import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEndpoint } from '../src/engine/client.js';
import { LABEL_RUN } from '../src/engine/labels.js';
import { parseTranscript, type TranscriptEvent } from '../src/proof/transcript.js';
import { REPO, writeTree } from './helpers.js';

// Three extra engines next to the main one (scripts/engines.sh), an sshd on loopback, and the
// CLI run with AIRLOCK_ENGINES naming them: placement, shipping, read-back, retry and gc per node.
const ENGINES = join(REPO, 'scripts/engines.sh');
const BIN = join(REPO, 'bin/airlock');
const tag = `s${process.pid % 100000}`;
const names = ['a', 'b', 'c'].map((n) => `${tag}${n}`);
const socket = (name: string) => `unix:///run/airlock-engines/${name}/docker.sock`;
const engines = (...ns: string[]) => ns.map((n) => `${n}=${socket(n)}`).join(',');

let dir: string;
let env: NodeJS.ProcessEnv;

async function engineScript(...args: string[]) {
  const r = await execa('bash', [ENGINES, ...args], { reject: false });
  if (r.exitCode !== 0) throw new Error(`engines.sh ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function transcriptOf(bundleDir: string): Promise<TranscriptEvent[]> {
  return parseTranscript(await readFile(join(bundleDir, 'transcript.jsonl'), 'utf8'));
}

/** `airlock run --json`, its events as they come (onEvent) and its final result. */
async function run(spec: string, extraEnv: NodeJS.ProcessEnv, { onEvent, args = [] }: { onEvent?: (e: Record<string, unknown>, child: ChildProcess) => void; args?: string[] } = {}) {
  const child = spawn('node', [BIN, 'run', '--json', ...args, '--root', dir, '-f', join(dir, spec)], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines: Record<string, unknown>[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as Record<string, unknown>;
    lines.push(e);
    onEvent?.(e, child);
  }
  const code = await new Promise<number>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c ?? -1))));
  const result = lines.at(-1) as { ok: boolean; bundleDir: string; verdict: string; verified?: { verified: boolean } };
  return { code, events: lines, result, stderr };
}

beforeAll(async () => {
  await engineScript('start', ...names);
  dir = await mkdtemp(join(tmpdir(), 'airlock-scale-'));
  env = { ...process.env, AIRLOCK_SIGNING_KEY: join(dir, 'signing.key') };
  await execa('node', [BIN, 'keygen', '--root', dir], { env });
  await writeTree(dir, {
    'Dockerfile': 'FROM airlock/busybox\n',
    'matrix.yaml': [
      'version: 1',
      'name: scale',
      'images:',
      '  box: { dockerfile: Dockerfile, context: . }',
      'environments:',
      '  t:',
      '    image: box',
      '    policy: { cpus: 1, memory: 256m }',
      '    steps:',
      '      - { name: work, run: "sleep 2; echo cell ${{ matrix.n }} > /out/n.txt; cat /out/n.txt", expect: { stdout: { contains: "cell" } } }',
      '    outputs: ["/out"]',
      'matrix:',
      '  environment: t',
      '  axes: { n: [1, 2, 3, 4, 5, 6] }',
      '',
    ].join('\n'),
    'slow.yaml': [
      'version: 1',
      'name: slow',
      'images:',
      '  box: { dockerfile: Dockerfile, context: . }',
      'environments:',
      '  slow:',
      '    image: box',
      '    policy: { cpus: 1, memory: 256m }',
      '    steps:',
      '      - { name: wait, run: "sleep 8; echo done", expect: { stdout: { equals: "done\\n" } } }',
      '',
    ].join('\n'),
  });
}, 120_000);

afterAll(async () => {
  // what a run that died (no teardown of its own) left on the main engine, e.g. through the ssh engine
  if (dir) await execa('node', [BIN, 'gc', '--root', dir], { env, reject: false });
  await engineScript('stop', ...names).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('cells across several engines', () => {
  it('runs a 6-cell matrix across 3 engines: cells on several nodes, all pass, the bundle verifies and names the nodes', async () => {
    const r = await run('matrix.yaml', { AIRLOCK_ENGINES: engines(...names) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.result.verdict).toBe('passed');
    expect(r.result.verified?.verified).toBe(true);

    const ev = await transcriptOf(r.result.bundleDir);
    const environment = ev.find((e) => e.phase === 'environment')!.data as { nodes: { name: string; endpoint: string; engine: { id: string } }[] };
    expect(environment.nodes.map((n) => n.name).sort()).toEqual([...names].sort());
    const placed = ev.filter((e) => e.phase === 'cell' && e.data.state === 'started').map((e) => String(e.data.node));
    expect(placed).toHaveLength(6);
    expect(new Set(placed).size).toBeGreaterThanOrEqual(2);
    for (const n of placed) expect(names).toContain(n);
    // every cell's container was read back on the node that ran it
    const containers = ev.filter((e) => e.phase === 'container');
    expect(containers).toHaveLength(6);
    for (const c of containers) expect(names).toContain(String(c.data.node));
    // a node may be another machine: its cells mount the helper from a volume of its own, not this host's file
    for (const c of containers) expect((c.data.helper as { source: string }).source).toMatch(/^airlock-helper-[0-9a-f]{32}$/);
    // the image went to each node by digest and measured the same there
    const shipped = ev.filter((e) => e.phase === 'ship');
    expect(new Set(shipped.map((e) => String(e.data.node)))).toEqual(new Set(placed));
    for (const s of shipped) expect(s.data.rootfsDigest).toBe(ev.find((e) => e.phase === 'image')!.data.rootfsDigest);

    // one bundle, whatever the nodes: it replays like any other (here on the one engine) and reproduces
    const replay = await execa('node', [BIN, 'replay', r.result.bundleDir, '--root', dir, '--json'], { env, reject: false });
    expect(replay.exitCode, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout.trim().split('\n').at(-1)!)).toMatchObject({ command: 'replay', verdict: 'reproduced' });

    // nothing is left on any node
    for (const name of names) {
      const engine = connectEndpoint({ host: socket(name), source: 'test', skipTLSVerify: false }, name);
      expect(await engine.containers.list({ label: [`${LABEL_RUN}`] })).toEqual([]);
    }
  });

  it('reports an engine that does not answer and runs on the others', async () => {
    const r = await run('matrix.yaml', { AIRLOCK_ENGINES: `${engines(names[0]!)},gone=unix://${dir}/no-engine.sock` });
    expect(r.code, r.stderr).toBe(0);
    const unreachable = r.events.find((e) => e.type === 'node-unreachable');
    expect(unreachable).toMatchObject({ node: 'gone' });
  });

  it('SIGINT mid-run removes the cells on every node and exits 130', async () => {
    const nodes = [names[0]!, names[1]!];
    const running = new Set<string>();
    let runId = '';
    const r = await run('matrix.yaml', { AIRLOCK_ENGINES: engines(...nodes) }, {
      args: ['--no-cache'],
      onEvent: (e, child) => {
        if (e.type === 'run-started') runId = String(e.runId);
        if (e.type !== 'env-started') return;
        running.add(String(e.node));
        // cells run on both nodes: interrupt the run (once: a second SIGINT means something else)
        if (running.size === nodes.length && !child.killed) child.kill('SIGINT');
      },
    });
    expect(r.code, r.stderr).toBe(130);
    for (const name of nodes) {
      const engine = connectEndpoint({ host: socket(name), source: 'test', skipTLSVerify: false }, name);
      expect(await engine.containers.list({ label: [`${LABEL_RUN}=${runId}`] })).toEqual([]);
    }
  });

  it('an engine lost mid-cell fails that attempt and the cell passes on another engine, recorded', async () => {
    const [first, second] = [names[1]!, names[2]!];
    let killed: Promise<string> | undefined;
    const r = await run(
      'slow.yaml',
      { AIRLOCK_ENGINES: engines(first, second) },
      {
        onEvent: (e) => {
          // the cell's steps are running on its node: take that engine away
          if (e.type === 'env-started' && !killed) killed = engineScript('kill', String(e.node));
        },
      },
    );
    await killed;
    expect(r.code, r.stderr).toBe(0);
    const ev = await transcriptOf(r.result.bundleDir);
    const retried = ev.find((e) => e.phase === 'cell' && e.data.state === 'retried');
    expect(retried?.data).toMatchObject({ cell: 'slow', node: first });
    const starts = ev.filter((e) => e.phase === 'cell' && e.data.state === 'started').map((e) => e.data.node);
    expect(starts).toEqual([first, second]);
    expect(r.result.verified?.verified).toBe(true);

    // the lost engine comes back with the dead cell's container: gc --engines reaps it there
    await engineScript('stop', first);
    await engineScript('start', first);
    const engine = connectEndpoint({ host: socket(first), source: 'test', skipTLSVerify: false }, first);
    const gc = await execa('node', [BIN, 'gc', '--json', '--root', dir, '--engines', engines(first, second)], { env, reject: false });
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(await engine.containers.list({ label: [LABEL_RUN] })).toEqual([]);
  });
});

it("the main engine's default bridge survives the extra engines (a dockerd started with --bridge none would delete docker0)", async () => {
  const r = await execa('docker', ['run', '--rm', 'airlock/busybox', 'true'], { reject: false });
  expect(r.exitCode, r.stderr).toBe(0);
});

describe('a tcp:// engine with TLS both ways', () => {
  const name = `${tag}t`;
  let certs: string;
  let port: number;

  beforeAll(async () => {
    certs = await mkdtemp(join(tmpdir(), 'airlock-tls-'));
    const ssl = (...args: string[]) => execa('openssl', args, { cwd: certs });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    await ssl('req', '-x509', ...ec, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=airlock test CA');
    const signed = async (key: string, cert: string, ext: string) => {
      await ssl('req', ...ec, '-keyout', key, '-out', `${cert}.csr`, '-subj', '/CN=127.0.0.1');
      await writeFile(join(certs, `${cert}.ext`), ext);
      await ssl('x509', '-req', '-in', `${cert}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', cert, '-days', '1', '-extfile', `${cert}.ext`);
    };
    await signed('server-key.pem', 'server-cert.pem', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    // the client's files under docker's DOCKER_CERT_PATH names
    await signed('key.pem', 'cert.pem', 'extendedKeyUsage=clientAuth\n');
    port = await freePort();
    await engineScript('start', name, '--tls', String(port), certs);
  }, 120_000);

  afterAll(async () => {
    await engineScript('stop', name).catch(() => undefined);
    if (certs) await rm(certs, { recursive: true, force: true });
  }, 120_000);

  it('runs a cell on tcp://127.0.0.1 with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, and does not answer without them', async () => {
    const base = { AIRLOCK_ENGINES: `tls=tcp://127.0.0.1:${port}` };
    const r = await run('matrix.yaml', { ...base, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }, { args: ['--no-cache'] });
    expect(r.code, r.stderr).toBe(0);
    const ev = await transcriptOf(r.result.bundleDir);
    const environment = ev.find((e) => e.phase === 'environment')!.data as { nodes: { name: string; endpoint: string }[] };
    expect(environment.nodes).toEqual([expect.objectContaining({ name: 'tls', endpoint: `tcp://127.0.0.1:${port}` })]);
    expect(ev.filter((e) => e.phase === 'container').every((e) => e.data.node === 'tls')).toBe(true);

    // without the TLS files (plain HTTP, no client certificate) the engine does not answer
    const refused = await run('matrix.yaml', base, { args: ['--no-cache'] });
    expect(refused.code).toBe(3);
    expect(refused.events.find((e) => e.type === 'node-unreachable')).toMatchObject({ node: 'tls' });
  });
});

describe('an ssh:// engine over loopback', () => {
  let sshd: { dir: string; pid: number; port: number } | undefined;

  beforeAll(async () => {
    const d = await mkdtemp(join(tmpdir(), 'airlock-sshd-'));
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(d, 'host_key')]);
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(d, 'id')]);
    await writeFile(join(d, 'authorized_keys'), await readFile(join(d, 'id.pub')));
    await chmod(join(d, 'authorized_keys'), 0o600);
    const port = await freePort();
    await writeFile(
      join(d, 'sshd_config'),
      [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${d}/host_key`, `AuthorizedKeysFile ${d}/authorized_keys`, 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'StrictModes no', 'UsePAM no', 'UseDNS no', `PidFile ${d}/sshd.pid`, ''].join('\n'),
    );
    await execa('mkdir', ['-p', '/run/sshd']);
    await execa('/usr/sbin/sshd', ['-f', join(d, 'sshd_config'), '-E', join(d, 'sshd.log')]);
    const hostKey = (await readFile(join(d, 'host_key.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
    await writeFile(join(d, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
    await new Promise((r) => setTimeout(r, 300));
    sshd = { dir: d, pid: Number((await readFile(join(d, 'sshd.pid'), 'utf8')).trim()), port };
  });

  afterAll(async () => {
    if (sshd) {
      process.kill(sshd.pid);
      await rm(sshd.dir, { recursive: true, force: true });
    }
  });

  it('runs a cell on the engine behind ssh://root@127.0.0.1 and refuses a host key known_hosts does not list', async () => {
    const base = { AIRLOCK_ENGINES: `remote=ssh://root@127.0.0.1:${sshd!.port}`, AIRLOCK_SSH_KEY: join(sshd!.dir, 'id'), SSH_AUTH_SOCK: '' };
    // --no-cache: the matrix passed before, and a cache hit would not touch the engine
    const r = await run('matrix.yaml', { ...base, AIRLOCK_SSH_KNOWN_HOSTS: join(sshd!.dir, 'known_hosts') }, { args: ['--no-cache'] });
    expect(r.code, r.stderr).toBe(0);
    const ev = await transcriptOf(r.result.bundleDir);
    const environment = ev.find((e) => e.phase === 'environment')!.data as { nodes: { name: string; endpoint: string }[] };
    expect(environment.nodes).toEqual([expect.objectContaining({ name: 'remote', endpoint: `ssh://root@127.0.0.1:${sshd!.port}` })]);

    const empty = join(sshd!.dir, 'empty_known_hosts');
    await writeFile(empty, '');
    const refused = await run('matrix.yaml', { ...base, AIRLOCK_SSH_KNOWN_HOSTS: empty }, { args: ['--no-cache'] });
    expect(refused.code).toBe(3);
    expect(refused.events.find((e) => e.type === 'node-unreachable')?.message).toMatch(/known_hosts/);
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
