import { describe, expect, it } from 'vitest';
import { HELPER_DIR, HELPER_MOUNT, hostHelper } from './hardening.js';
import { LABEL_ROLE, LABEL_RUN } from './labels.js';
import type { CellNetwork } from './network.js';
import { attachmentProblems, checkServiceSpecs, serviceCreateOptions, serviceHostConfig, serviceMismatches, strategyFor, type ServiceSpec } from './services.js';

const network: CellNetwork = { id: 'net-id', name: 'airlock-r1-app', readback: { Internal: true, Driver: 'bridge', IPAM: {}, Labels: {} } };
const spec: ServiceSpec = {
  name: 'db',
  image: 'airlock/debian:bookworm',
  run: ['postgres'],
  env: { POSTGRES_PASSWORD: 'x' },
  user: '999:999',
  readOnlyRootfs: true,
  tmpfs: ['/tmp', '/var/run/postgresql'],
  memoryBytes: 256 * 1024 * 1024,
  pids: 128,
  cpus: 1.5,
  healthcheck: { test: ['CMD', 'pg_isready'], intervalMs: 500, timeoutMs: 2_000, retries: 5, startPeriodMs: 1_000 },
  startupTimeoutMs: 30_000,
};

describe('serviceCreateOptions', () => {
  const opts = serviceCreateOptions(spec, { runId: 'r1', cell: 'app', network });

  it('attaches the service to the cell network alone, under its name', () => {
    expect(opts.HostConfig?.NetworkMode).toBe('airlock-r1-app');
    expect(opts.NetworkingConfig).toEqual({ EndpointsConfig: { 'airlock-r1-app': { Aliases: ['db'] } } });
    expect(opts.HostConfig?.PortBindings).toEqual({});
    expect(opts.HostConfig?.PublishAllPorts).toBe(false);
  });

  it('hardens it like a cell: no capabilities, no new privileges, limits, sized tmpfs', () => {
    expect(opts.HostConfig).toMatchObject({
      CapDrop: ['ALL'],
      CapAdd: [],
      Privileged: false,
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Memory: 256 * 1024 * 1024,
      MemorySwap: 256 * 1024 * 1024,
      PidsLimit: 128,
      NanoCpus: 1_500_000_000,
      Binds: [],
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=268435456,mode=1777', '/var/run/postgresql': 'rw,noexec,nosuid,nodev,size=268435456,mode=1777' },
    });
  });

  it('labels it for cleanup and passes the healthcheck in nanoseconds', () => {
    expect(opts.Labels).toMatchObject({ [LABEL_RUN]: 'r1', [LABEL_ROLE]: 'service', 'dev.airlock.cell': 'app', 'dev.airlock.service': 'db' });
    expect(opts.Healthcheck).toEqual({ Test: ['CMD', 'pg_isready'], Interval: 5e8, Timeout: 2e9, Retries: 5, StartPeriod: 1e9 });
    expect(opts).toMatchObject({ Image: 'airlock/debian:bookworm', Cmd: ['postgres'], User: '999:999', Env: ['POSTGRES_PASSWORD=x'], Hostname: 'db' });
  });

  it('mounts the helper read-only only when given one: the host file, or a volume on a node', () => {
    expect(serviceHostConfig(spec, network, hostHelper('/bin/busybox')).Binds).toEqual([`/bin/busybox:${HELPER_MOUNT}:ro`]);
    expect(serviceHostConfig(spec, network, { source: 'airlock-helper-ab', target: HELPER_DIR }).Binds).toEqual(['airlock-helper-ab:/.airlock:ro']);
    expect(serviceHostConfig(spec, network).Binds).toEqual([]);
  });
});

describe('serviceMismatches', () => {
  const asApplied = () => ({ ...(serviceHostConfig(spec, network) as Record<string, unknown>) });

  it('accepts what was asked for', () => {
    expect(serviceMismatches(spec, network, asApplied(), '999:999')).toEqual([]);
  });

  it('names every field the engine did not apply', () => {
    const got = { ...asApplied(), NetworkMode: 'bridge', CapAdd: ['NET_ADMIN'], Privileged: true, PortBindings: { '5432/tcp': [{ HostPort: '5432' }] }, Memory: 0 };
    const problems = serviceMismatches(spec, network, got, '0:0');
    expect(problems.map((p) => p.split(':')[0])).toEqual(['NetworkMode', 'CapAdd', 'Privileged', 'User', 'Memory', 'PortBindings']);
  });
});

describe('attachmentProblems', () => {
  const ep = (over: object = {}) => ({ Aliases: ['db', '0123456789ab'], NetworkID: 'net-id', IPAddress: '172.20.0.2', ...over });

  it('accepts the cell network alone, with the alias, id and an address', () => {
    expect(attachmentProblems('db', network, { 'airlock-r1-app': ep() }, true)).toEqual([]);
  });

  it('refuses a second network, a missing alias, or no address while running', () => {
    expect(attachmentProblems('db', network, { 'airlock-r1-app': ep(), bridge: ep() }, true)).toHaveLength(1);
    expect(attachmentProblems('db', network, { 'airlock-r1-app': ep({ Aliases: null }) }, false)).toHaveLength(1);
    expect(attachmentProblems('db', network, { 'airlock-r1-app': ep({ IPAddress: '' }) }, true)).toEqual(['no address on airlock-r1-app']);
    // an exited container has no address: its wait strategy reports that, not the attachment check
    expect(attachmentProblems('db', network, { 'airlock-r1-app': ep({ IPAddress: '', NetworkID: '' }) }, false)).toEqual([]);
  });
});

describe('strategyFor', () => {
  const bare: ServiceSpec = { ...spec, healthcheck: undefined };

  it('prefers the healthcheck, then `wait`, then running', () => {
    expect(strategyFor({ ...spec, wait: { port: 5432 } }).description).toBe('healthcheck');
    expect(strategyFor({ ...bare, wait: { log: '/ready/' } }).description).toBe('log /ready/');
    expect(strategyFor({ ...bare, wait: { command: ['pg_isready'] } }).description).toBe('command pg_isready');
    expect(strategyFor({ ...bare, wait: { port: 5432 } }).description).toBe('port 5432');
    expect(strategyFor(bare).description).toBe('running');
  });
});

describe('checkServiceSpecs', () => {
  it('refuses names that are not DNS labels, duplicates, and malformed healthchecks', () => {
    expect(() => checkServiceSpecs([{ ...spec, name: 'Web_1' }])).toThrow('Expected a service name to be a DNS label (a-z, 0-9, -), got `Web_1`');
    expect(() => checkServiceSpecs([spec, spec])).toThrow('Expected service names to be unique, got `db` twice');
    expect(() => checkServiceSpecs([{ ...spec, healthcheck: { ...spec.healthcheck!, test: ['pg_isready'] } }])).toThrow(/healthcheck of db/);
    expect(() => checkServiceSpecs([spec, { ...spec, name: 'cache' }])).not.toThrow();
  });
});
