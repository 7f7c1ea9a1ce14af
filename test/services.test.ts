import { randomBytes } from 'node:crypto';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine } from '../src/engine/client.js';
import { HELPER_MOUNT, hostHelper } from '../src/engine/hardening.js';
import { LABEL_RUN } from '../src/engine/labels.js';
import { createCellNetwork, removeNetwork, type CellNetwork } from '../src/engine/network.js';
import { startServices, stopServices, type RunningService, type ServiceSpec } from '../src/engine/services.js';
import { Wait } from '../src/engine/wait/wait.js';
import { isAirlockError, type AirlockError } from '../src/errors.js';
import { lockedBusybox } from './helpers.js';

// Ryuk (testcontainers' reaper) would have to be pulled; airlock's labels do the cleaning here.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

const docker = connectEngine();
const BUSYBOX = 'airlock/busybox';
const MiB = 1024 * 1024;

const service = (name: string, over: Partial<ServiceSpec>): ServiceSpec => ({
  name,
  image: BUSYBOX,
  env: {},
  user: '65534:65534',
  readOnlyRootfs: true,
  tmpfs: ['/tmp'],
  memoryBytes: 64 * MiB,
  pids: 64,
  cpus: 0.5,
  startupTimeoutMs: 20_000,
  ...over,
});

const web = service('web', {
  run: ['httpd', '-f', '-p', '8080', '-h', '/tmp'],
  healthcheck: { test: ['CMD', 'nc', '-w', '1', '127.0.0.1', '8080'], intervalMs: 250, timeoutMs: 2_000, retries: 3, startPeriodMs: 0 },
});
const kv = service('kv', { run: ['sh', '-c', 'while true; do echo pong | nc -l -p 6379; done'], wait: { port: 6379 } });

const newRunId = () => `it-services-${randomBytes(4).toString('hex')}`;

async function labelled(runId: string): Promise<{ containers: number; networks: number }> {
  const filters = { label: [`${LABEL_RUN}=${runId}`] };
  return {
    containers: (await docker.containers.list(filters)).length,
    networks: (await docker.networks.list(filters)).length,
  };
}

async function rejection(p: Promise<unknown>): Promise<AirlockError> {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!isAirlockError(e)) throw new Error(`expected an AirlockError, got ${String(e)}`);
  return e;
}

/** A throwaway busybox (testcontainers) on `network`, to run commands from. */
function client(network: string): Promise<StartedTestContainer> {
  return new GenericContainer(BUSYBOX).withNetworkMode(network).withCommand(['sleep', '300']).start();
}

describe('services on a cell network', () => {
  const runId = newRunId();
  let network: CellNetwork;
  let running: RunningService[] = [];

  let busybox: string;
  beforeAll(async () => {
    busybox = await lockedBusybox();
    network = await createCellNetwork(docker, { runId, cell: 'app' });
    running = await startServices(docker, { runId, cell: 'app', network, services: [web, kv], helper: hostHelper(busybox) });
  });

  afterAll(async () => {
    await stopServices(docker, running);
    await stopServices(docker, running); // safe twice
    if (network) {
      await removeNetwork(docker, network.id);
      await removeNetwork(docker, network.id); // tolerant of already-gone
    }
    expect(await labelled(runId)).toEqual({ containers: 0, networks: 0 });
  });

  it('reads the network back as an internal, labelled bridge', async () => {
    expect(network.readback).toMatchObject({ Internal: true, Driver: 'bridge', Labels: { [LABEL_RUN]: runId, 'dev.airlock.cell': 'app' } });
    expect((await docker.networks.inspect(network.id)).Internal).toBe(true);
  });

  it('starts both services ready by their strategies, hardened, attached to the cell network alone', () => {
    expect(running.map((s) => [s.name, s.strategy])).toEqual([
      ['web', 'healthcheck'],
      ['kv', 'port 6379'],
    ]);
    for (const s of running) {
      expect(s.networks).toEqual([network.name]);
      expect(s.networkAliases).toContain(s.name);
      expect(s.endpoint).toMatchObject({ NetworkID: network.id, IPAddress: s.ip });
      expect(s.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(s.healthyAfterMs).toBeGreaterThanOrEqual(0);
      expect(s.hostConfig).toMatchObject({
        NetworkMode: network.name,
        CapDrop: ['ALL'],
        Privileged: false,
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        Memory: 64 * MiB,
        PidsLimit: 64,
        NanoCpus: 5e8,
        Binds: [`${busybox}:${HELPER_MOUNT}:ro`],
      });
      expect(Object.keys(s.hostConfig.Tmpfs ?? {})).toEqual(['/tmp']);
    }
  });

  it('lets a container on the network reach the services by name, and nothing outside it', async () => {
    // control: a reference server on the engine's default bridge, reachable from that bridge
    const outside = await new GenericContainer(BUSYBOX).withCommand(['httpd', '-f', '-p', '8080', '-h', '/tmp']).start();
    const inside = await client(network.name);
    const control = await client('bridge');
    try {
      const outsideIp = outside.getIpAddress('bridge');
      const get = (host: string) => ['sh', '-c', `echo "GET / HTTP/1.0" | nc -w 2 ${host} 8080`];

      const fromCell = await inside.exec(get('web'));
      expect(fromCell.output).toMatch(/^HTTP\/1\.[01] \d{3}/);
      expect((await inside.exec(['sh', '-c', 'nc -w 2 kv 6379 </dev/null'])).output).toContain('pong');

      expect((await control.exec(get(outsideIp))).output).toMatch(/^HTTP\/1\.[01] \d{3}/);
      const across = await inside.exec(get(outsideIp));
      expect(across.output).not.toMatch(/HTTP/);
      const egress = await inside.exec(['sh', '-c', 'nc -w 2 1.1.1.1 80 </dev/null']);
      expect(egress.exitCode).not.toBe(0);
    } finally {
      await Promise.all([outside.stop(), inside.stop(), control.stop()]);
    }
  });
});

describe('wait strategies', () => {
  const runId = newRunId();
  let network: CellNetwork;
  let running: RunningService[] = [];

  beforeAll(async () => {
    network = await createCellNetwork(docker, { runId, cell: 'strategies' });
  });
  afterAll(async () => {
    await stopServices(docker, running);
    if (network) await removeNetwork(docker, network.id);
    expect(await labelled(runId)).toEqual({ containers: 0, networks: 0 });
  });

  it('gates each service on its log line, command, port (the image’s own cat) or running state', async () => {
    running = await startServices(docker, {
      runId,
      cell: 'strategies',
      network,
      services: [
        service('logger', { run: ['sh', '-c', 'sleep 1; echo "listening on 5000" >&2; exec sleep 300'], wait: { log: '/listening on \\d+/' } }),
        service('flag', { run: ['sh', '-c', 'sleep 1; touch /tmp/ready; exec sleep 300'], wait: { command: ['test', '-e', '/tmp/ready'] } }),
        service('listener', { run: ['sh', '-c', 'sleep 1; exec nc -l -p 7000'], wait: { port: 7000 } }),
        service('plain', { run: ['sleep', '300'] }),
      ],
    });
    expect(running.map((s) => s.strategy)).toEqual(['log /listening on \\d+/', 'command test -e /tmp/ready', 'port 7000', 'running']);
    for (const s of running.slice(0, 3)) expect(s.healthyAfterMs).toBeGreaterThanOrEqual(900);
    expect(running.map((s) => s.hostConfig.Binds)).toEqual([[], [], [], []]);
  });

  it('stops a hung wait promptly when its signal aborts', async () => {
    const c = await docker.containers.create({ Image: BUSYBOX, Cmd: ['sleep', '300'], Labels: { [LABEL_RUN]: runId } });
    try {
      await c.start();
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 300);
      const started = Date.now();
      // each probe hangs (sleep 30) and is abandoned on abort
      const e = await rejection(Wait.forCommand(['sleep', '30']).waitUntilReady(c, { deadline: Date.now() + 60_000, signal: ac.signal }));
      expect(e.code).toBe('INTERRUPTED');
      expect(Date.now() - started).toBeLessThan(1_500);
      const log = await rejection(Wait.forLogMessage('never').waitUntilReady(c, { deadline: Date.now() + 60_000, signal: AbortSignal.timeout(200) }));
      expect(log.code).toBe('INTERRUPTED');
    } finally {
      await c.remove({ force: true });
    }
  });
});

describe('a service that never becomes ready', () => {
  async function expectNothingLeft(runId: string, network: CellNetwork) {
    expect((await labelled(runId)).containers).toBe(0);
    await removeNetwork(docker, network.id);
    expect(await labelled(runId)).toEqual({ containers: 0, networks: 0 });
  }

  it('fails fast on an unhealthy healthcheck, quoting its last log lines, and removes every service of the cell', async () => {
    const runId = newRunId();
    const network = await createCellNetwork(docker, { runId, cell: 'sick' });
    const sick = service('sick', {
      run: ['sh', '-c', 'echo booting sick; echo "fatal: config missing" >&2; exec sleep 300'],
      healthcheck: { test: ['CMD', 'false'], intervalMs: 200, timeoutMs: 1_000, retries: 2, startPeriodMs: 0 },
      startupTimeoutMs: 30_000,
    });
    const started = Date.now();
    const e = await rejection(startServices(docker, { runId, cell: 'sick', network, services: [web, sick] }));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(e.code).toBe('SERVICE_UNHEALTHY');
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain('service sick');
    expect(e.message).toContain('healthcheck');
    expect(e.message).toContain('unhealthy');
    // stdout and stderr lines, in whichever order the engine recorded the two streams
    expect(e.message).toMatch(/last 2 log lines of sick:\n/);
    expect(e.message).toContain('  | booting sick');
    expect(e.message).toContain('  | fatal: config missing');
    expect(e.details).toMatchObject({ service: 'sick', strategy: 'healthcheck', timedOut: false });
    expect([...(e.details.logs as string[])].sort()).toEqual(['booting sick', 'fatal: config missing']);
    await expectNothingLeft(runId, network);
  });

  it('times out within its startup timeout when its port never opens', async () => {
    const runId = newRunId();
    const network = await createCellNetwork(docker, { runId, cell: 'slow' });
    const slow = service('slow', { run: ['sh', '-c', 'echo waiting for a database that never comes; exec sleep 300'], wait: { port: 9999 }, startupTimeoutMs: 3_000 });
    const started = Date.now();
    const e = await rejection(startServices(docker, { runId, cell: 'slow', network, services: [slow] }));
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(3_000);
    expect(took).toBeLessThan(8_000);
    expect(e.code).toBe('SERVICE_UNHEALTHY');
    // the last probe's answer, or (on a loaded machine) that the probe itself was still running at the deadline
    expect(e.message).toMatch(/service slow .*port 9999: not ready after \d+ ms: (nothing listens on tcp port 9999|reading \/proc\/net\/tcp .* did not finish in time)/);
    expect(e.message).toContain('waiting for a database that never comes');
    expect(e.details).toMatchObject({ strategy: 'port 9999', timedOut: true, startupTimeoutMs: 3_000 });
    await expectNothingLeft(runId, network);
  });

  it('fails fast when the service exits before its log line appears', async () => {
    const runId = newRunId();
    const network = await createCellNetwork(docker, { runId, cell: 'dying' });
    const dying = service('dying', { run: ['sh', '-c', 'echo cannot bind; exit 3'], wait: { log: 'ready' } });
    const started = Date.now();
    const e = await rejection(startServices(docker, { runId, cell: 'dying', network, services: [dying] }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(e.code).toBe('SERVICE_UNHEALTHY');
    expect(e.message).toContain('exited with code 3');
    expect(e.message).toContain('cannot bind');
    await expectNothingLeft(runId, network);
  });

  it('is interrupted promptly by its AbortSignal, leaving nothing behind', async () => {
    const runId = newRunId();
    const network = await createCellNetwork(docker, { runId, cell: 'abort' });
    const ac = new AbortController();
    const pending = startServices(docker, {
      runId,
      cell: 'abort',
      network,
      services: [service('quiet', { run: ['sleep', '300'], wait: { log: 'never printed' }, startupTimeoutMs: 120_000 }), web],
      signal: ac.signal,
    });
    await new Promise((r) => setTimeout(r, 1_500));
    const aborted = Date.now();
    ac.abort();
    const e = await rejection(pending);
    expect(e.code).toBe('INTERRUPTED');
    expect(Date.now() - aborted).toBeLessThan(3_000);
    await expectNothingLeft(runId, network);
  });
});
