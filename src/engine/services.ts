import { AirlockError, isAirlockError } from '../errors.js';
import { isNotFound } from './client.js';
import type { ContainerDetails, ContainerSpec, Engine, EngineContainer } from './engine.js';
import { HELPER_MOUNT, hardenedCreate, policyMismatches, type HardeningInput, type HelperMount, type ReadbackHostConfig } from './hardening.js';
import { runLabels } from './labels.js';
import { LABEL_CELL, type CellNetwork } from './network.js';
import { lastLogLines } from './wait/logs.js';
import { Wait, type WaitStrategy } from './wait/wait.js';

/** On service containers: the service's name (also its DNS alias on the cell network). */
export const LABEL_SERVICE = 'dev.airlock.service';
/** How many of a failed service's last log lines its error quotes. */
export const LOG_LINES = 40;

export interface ServiceHealthcheck {
  /** `["CMD", argv...]` or `["CMD-SHELL", "command"]`, as in a Dockerfile HEALTHCHECK */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export type ServiceWait = { log: string } | { command: string[] } | { port: number };

export interface ServiceSpec {
  /** a DNS label: the service's alias on the cell network */
  name: string;
  image: string;
  /** replaces the image's CMD (its ENTRYPOINT stays) */
  run?: string[];
  env: Record<string, string>;
  /** "uid[:gid]" the service runs as (its policy's user) */
  user: string;
  readOnlyRootfs: boolean;
  tmpfs: string[];
  memoryBytes: number;
  pids: number;
  cpus: number;
  /** when given, readiness is the engine's health status; `wait` is then ignored */
  healthcheck?: ServiceHealthcheck;
  /** `log`: a `/regex/flags` or a substring; `command`: argv exiting 0; `port`: a TCP port listening inside the service */
  wait?: ServiceWait;
  startupTimeoutMs: number;
}

export interface RunningService {
  name: string;
  containerId: string;
  /** the HostConfig as the engine read it back */
  hostConfig: ReadbackHostConfig;
  /** the user the engine reports it runs as (Config.User; "" is the image's default) */
  user: string;
  /** the service's aliases on the cell network, as read back (its name, and the engine's short id) */
  networkAliases: string[];
  /** the networks it is attached to, as read back: only the cell's */
  networks: string[];
  /** the engine's read-back endpoint on the cell network (NetworkSettings.Networks[network]) */
  endpoint: Record<string, unknown>;
  ip: string;
  /** from the container's start until its wait strategy was satisfied */
  healthyAfterMs: number;
  strategy: string;
}

export interface StartServicesOptions {
  runId: string;
  cell: string;
  network: CellNetwork;
  services: ServiceSpec[];
  signal?: AbortSignal;
  /**
   * Host path of the static helper (busybox). When given it is mounted
   * read-only at HELPER_MOUNT, as in cells, and `port` waits read
   * /proc/net/tcp with it, so the image needs no tools of its own.
   */
  helper?: HelperMount;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ms = (n: number) => Math.round(n * 1e6);

/** Contract checks on what the spec layer hands over (it validates user input; this guards the engine calls). */
export function checkServiceSpecs(services: ServiceSpec[]): void {
  const seen = new Set<string>();
  for (const s of services) {
    if (!DNS_LABEL.test(s.name)) throw new TypeError(`Expected a service name to be a DNS label (a-z, 0-9, -), got \`${s.name}\``);
    if (seen.has(s.name)) throw new TypeError(`Expected service names to be unique, got \`${s.name}\` twice`);
    seen.add(s.name);
    if (!(s.startupTimeoutMs > 0)) throw new TypeError(`Expected \`startupTimeoutMs\` of ${s.name} to be > 0, got \`${s.startupTimeoutMs}\``);
    const kind = s.healthcheck?.test[0];
    if (s.healthcheck && ((kind !== 'CMD' && kind !== 'CMD-SHELL') || s.healthcheck.test.length < 2)) {
      throw new TypeError(`Expected the healthcheck of ${s.name} to be ["CMD", ...argv] or ["CMD-SHELL", command], got \`${JSON.stringify(s.healthcheck.test)}\``);
    }
  }
}

/** A service is hardened like a cell (the same rule table), but on the cell's internal network instead of none. */
export function serviceHardening(spec: ServiceSpec, network: CellNetwork, helper?: HelperMount): HardeningInput {
  return { policy: spec, network: network.name, ...(helper ? { helper } : {}) };
}

/** The HostConfig of a service: the hardened one, plus no restarts and bounded logs. */
export function serviceHostConfig(spec: ServiceSpec, network: CellNetwork, helper?: HelperMount): Record<string, unknown> {
  return {
    ...hardenedCreate(serviceHardening(spec, network, helper)).HostConfig,
    RestartPolicy: { Name: 'no' },
    // a chatty service must not fill the engine's disk
    LogConfig: { Type: 'json-file', Config: { 'max-size': '16m', 'max-file': '1' } },
  };
}

export function serviceCreateOptions(spec: ServiceSpec, opts: Omit<StartServicesOptions, 'services' | 'signal'>): ContainerSpec {
  const hc = spec.healthcheck;
  return {
    Image: spec.image,
    ...(spec.run ? { Cmd: spec.run } : {}),
    User: spec.user,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Hostname: spec.name,
    Labels: { ...runLabels(opts.runId, 'service'), [LABEL_CELL]: opts.cell, [LABEL_SERVICE]: spec.name },
    ...(hc
      ? { Healthcheck: { Test: hc.test, Interval: ms(hc.intervalMs), Timeout: ms(hc.timeoutMs), Retries: hc.retries, StartPeriod: ms(hc.startPeriodMs) } }
      : {}),
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    OpenStdin: false,
    Tty: false,
    HostConfig: serviceHostConfig(spec, opts.network, opts.helper),
    NetworkingConfig: { EndpointsConfig: { [opts.network.name]: { Aliases: [spec.name] } } },
  };
}

/** Differences between what a service asked for and what the engine applied; any one refuses the service. */
export function serviceMismatches(spec: ServiceSpec, network: CellNetwork, got: ReadbackHostConfig, user: string, helper?: HelperMount): string[] {
  return policyMismatches(serviceHardening(spec, network, helper), got, user);
}

type Endpoints = ContainerDetails['NetworkSettings']['Networks'];

/**
 * A service must be attached to the cell's network alone, under its own name.
 * With `running`, it must also have joined it (network id, address); a
 * container that already exited has neither, and is left to its wait strategy
 * to report.
 */
export function attachmentProblems(name: string, network: CellNetwork, endpoints: Endpoints, running: boolean): string[] {
  const problems: string[] = [];
  const names = Object.keys(endpoints ?? {});
  if (names.length !== 1 || names[0] !== network.name) problems.push(`networks: expected only ${network.name}, engine reports ${JSON.stringify(names)}`);
  const ep = endpoints?.[network.name];
  const aliases: string[] = (ep?.Aliases as string[] | null | undefined) ?? [];
  if (ep && !aliases.includes(name)) problems.push(`aliases on ${network.name}: expected ${name}, engine reports ${JSON.stringify(aliases)}`);
  if (ep && running && ep.NetworkID !== network.id) problems.push(`network id: expected ${network.id}, engine reports ${JSON.stringify(ep.NetworkID)}`);
  if (ep && running && !ep.IPAddress) problems.push(`no address on ${network.name}`);
  return problems;
}

/** Healthcheck if the service has one, else its `wait`, else "running". */
export function strategyFor(spec: ServiceSpec, helper?: HelperMount): WaitStrategy {
  if (spec.healthcheck) return Wait.forHealthcheck();
  const w = spec.wait;
  if (!w) return Wait.forRunning();
  if ('log' in w) return Wait.forLogMessage(w.log);
  if ('command' in w) return Wait.forCommand(w.command);
  return Wait.forListeningPort(w.port, helper ? { helper: HELPER_MOUNT } : {});
}

const engineError = (what: string, e: unknown, details: Record<string, unknown>) =>
  isAirlockError(e) ? e : new AirlockError('ENGINE_ERROR', `${what}: ${(e as Error).message}`, { cause: e, details });

/** Force-removes containers (and their anonymous volumes) in parallel; returns the failures other than "already gone". */
async function removeContainers(engine: Engine, ids: string[]): Promise<string[]> {
  const results = await Promise.allSettled(ids.map((id) => engine.containers.get(id).remove({ force: true, volumes: true })));
  return results.flatMap((r, i) =>
    r.status === 'rejected' && !isNotFound(r.reason) && !/already in progress|No such container/.test(String((r.reason as Error).message))
      ? [`${ids[i]}: ${(r.reason as Error).message}`]
      : [],
  );
}

interface Started {
  spec: ServiceSpec;
  container: EngineContainer;
  hostConfig: ReadbackHostConfig;
  user: string;
  strategy: WaitStrategy;
  startedAt: number;
}

const interrupted = () => new AirlockError('INTERRUPTED', 'interrupted while starting services');

/**
 * Starts a cell's services on its internal network: each created hardened,
 * its read-back HostConfig and attachment checked before any starts, then all
 * started and gated in parallel by their wait strategies, each within its own
 * startup timeout. Any failure (a refused read-back, a service that never
 * becomes ready, an interruption) removes all of them before the error is
 * thrown; a service that is not ready is SERVICE_UNHEALTHY quoting its last
 * log lines.
 */
export async function startServices(engine: Engine, opts: StartServicesOptions): Promise<RunningService[]> {
  const { cell, network, services, signal, helper } = opts;
  checkServiceSpecs(services);
  // built before anything exists, so a bad pattern or port throws without leaving containers behind
  const strategies = services.map((spec) => strategyFor(spec, helper));
  const created: Started[] = [];
  try {
    for (const [i, spec] of services.entries()) {
      if (signal?.aborted) throw interrupted();
      let container: EngineContainer;
      try {
        container = await engine.containers.create(serviceCreateOptions(spec, opts));
      } catch (e) {
        throw engineError(`could not create service ${spec.name} (image ${spec.image}) for environment ${cell}`, e, { env: cell, service: spec.name, image: spec.image });
      }
      const info = await container.inspect();
      const hostConfig = info.HostConfig;
      created.push({ spec, container, hostConfig, user: info.Config.User, strategy: strategies[i]!, startedAt: 0 });
      const problems = [
        ...serviceMismatches(spec, network, hostConfig, info.Config.User, helper),
        ...attachmentProblems(spec.name, network, info.NetworkSettings.Networks, false),
      ];
      if (problems.length > 0) {
        throw new AirlockError('POLICY_VIOLATION', `the engine did not apply the policy for service ${spec.name} of environment ${cell}:\n  ${problems.join('\n  ')}`, {
          details: { env: cell, service: spec.name, problems, hostConfig },
        });
      }
    }
    for (const s of created) {
      if (signal?.aborted) throw interrupted();
      await s.container.start().catch((e: unknown) => {
        throw engineError(`could not start service ${s.spec.name} of environment ${cell}`, e, { env: cell, service: s.spec.name });
      });
      s.startedAt = Date.now();
    }
    const afterStart = await Promise.all(created.map((s) => s.container.inspect()));
    const endpoints = afterStart.map((info) => info.NetworkSettings.Networks);
    created.forEach((s, i) => {
      const problems = attachmentProblems(s.spec.name, network, endpoints[i]!, afterStart[i]!.State.Running);
      if (problems.length > 0) {
        throw new AirlockError('POLICY_VIOLATION', `service ${s.spec.name} of environment ${cell} is not attached as asked:\n  ${problems.join('\n  ')}`, {
          details: { env: cell, service: s.spec.name, problems, networks: endpoints[i] },
        });
      }
    });
    const readyAfter = await gate(cell, created, signal);
    return created.map((s, i) => {
      const ep = endpoints[i]![network.name]!;
      return {
        name: s.spec.name,
        containerId: s.container.id,
        hostConfig: s.hostConfig,
        user: s.user,
        networkAliases: (ep.Aliases as string[] | null) ?? [],
        networks: Object.keys(endpoints[i]!),
        endpoint: ep as unknown as Record<string, unknown>,
        ip: ep.IPAddress,
        healthyAfterMs: readyAfter[i]!,
        strategy: s.strategy.description,
      };
    });
  } catch (e) {
    const leftover = await removeContainers(engine, created.map((s) => s.container.id));
    if (isAirlockError(e)) {
      if (leftover.length > 0) e.details.cleanupFailures = leftover;
      throw e;
    }
    throw engineError(`could not start the services of environment ${cell}`, e, { env: cell, cleanupFailures: leftover });
  }
}

/**
 * Waits for every started service in parallel. The first failure cancels the
 * other waits and is reported with the failing service's last log lines (read
 * before anything is removed); an abort of `signal` is INTERRUPTED.
 */
async function gate(cell: string, started: Started[], signal?: AbortSignal): Promise<number[]> {
  const inner = new AbortController();
  const forward = () => inner.abort();
  signal?.addEventListener('abort', forward, { once: true });
  if (signal?.aborted) inner.abort();
  let first: { service: Started; error: unknown } | undefined;
  try {
    const results = await Promise.allSettled(
      started.map(async (s) => {
        try {
          const ctx = { deadline: s.startedAt + s.spec.startupTimeoutMs, signal: inner.signal, startedAt: s.startedAt };
          return (await s.strategy.waitUntilReady(s.container, ctx)).afterMs;
        } catch (error) {
          if (!inner.signal.aborted) first ??= { service: s, error };
          inner.abort();
          throw error;
        }
      }),
    );
    if (signal?.aborted) throw interrupted();
    if (first) {
      const { service, error } = first;
      if (!isAirlockError(error, 'SERVICE_UNHEALTHY')) throw error;
      const logs = await lastLogLines(service.container, LOG_LINES);
      const shown = logs.length > 0 ? `last ${logs.length} log lines of ${service.spec.name}:\n${logs.map((l) => `  | ${l}`).join('\n')}` : `${service.spec.name} logged nothing`;
      throw new AirlockError('SERVICE_UNHEALTHY', `service ${service.spec.name} of environment ${cell} is not ready: ${error.message} (startup timeout ${service.spec.startupTimeoutMs} ms)\n${shown}`, {
        cause: error,
        details: { env: cell, service: service.spec.name, containerId: service.container.id, startupTimeoutMs: service.spec.startupTimeoutMs, ...error.details, logs },
      });
    }
    return results.map((r) => (r.status === 'fulfilled' ? r.value : 0));
  } finally {
    signal?.removeEventListener('abort', forward);
  }
}

/** Removes the services' containers (force, with their volumes). Always safe to call, also twice or on services already gone. */
export async function stopServices(engine: Engine, services: RunningService[]): Promise<void> {
  const failures = await removeContainers(engine, services.map((s) => s.containerId));
  if (failures.length > 0) {
    throw new AirlockError('ENGINE_ERROR', `could not remove service containers:\n  ${failures.join('\n  ')}`, { details: { failures } });
  }
}
