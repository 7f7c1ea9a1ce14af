import type { Readable, Writable } from 'node:stream';
import type { ReadbackHostConfig } from './hardening.js';

/**
 * One container engine, as airlock uses it: a small client per area of the Engine API
 * (docker-engine.ts implements them with dockerode). Nothing outside engine/ sees more.
 * Several engines may be in use at once (one per node), so every function that works on
 * an engine takes it as a parameter and keeps no state about "the" engine.
 *
 * Field names of what goes in and comes out are the Engine API's own (Docker and Podman
 * speak the same one); only what airlock reads is typed. A failed call rejects with an
 * error carrying the HTTP `statusCode` (see client.ts `isNotFound`).
 */
export interface Engine {
  /** where it answers: unix:///…, tcp://host:port, ssh://user@host */
  readonly endpoint: string;
  /** how messages name it: the endpoint and what chose it, or a node's name */
  readonly name: string;
  readonly system: SystemClient;
  readonly images: ImageClient;
  readonly containers: ContainerClient;
  readonly networks: NetworkClient;
  readonly volumes: VolumeClient;
}

/** Label filters and the like, as the list endpoints take them: `{ label: ['k=v'] }`. */
export type Filters = Record<string, string[]>;
export type Labels = Record<string, string>;

export interface SystemClient {
  version(): Promise<EngineVersion>;
  info(): Promise<EngineSystemInfo>;
}

export interface EngineVersion {
  Version: string;
  ApiVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  Components?: { Name: string }[];
}

export interface EngineSystemInfo {
  /** the engine's own id (several engines on one host may share it) */
  ID?: string;
  /** the host's name */
  Name?: string;
  NCPU?: number;
  MemTotal?: number;
  Driver?: string;
  CgroupVersion?: string;
  Runtimes?: Record<string, { path?: string }>;
  DefaultRuntime?: string;
}

export interface ImageClient {
  /** rejects with a 404 when the engine has no image by that reference */
  inspect(ref: string): Promise<ImageDetails>;
  /** the image's layers, newest first */
  history(ref: string): Promise<{ Id?: string }[]>;
  tag(ref: string, repo: string, tag: string): Promise<void>;
  remove(ref: string, opts?: { force?: boolean }): Promise<void>;
  list(filters: Filters): Promise<{ Id: string }[]>;
  /** starts a build of a context tar; resolves with the engine's JSON message stream */
  build(context: Readable, options: ImageBuildOptions): Promise<Readable>;
  /** imports a rootfs tar as an image; resolves with the engine's JSON message stream */
  import(rootfs: Readable, options: { repo: string; changes: string[] }): Promise<Readable>;
  /** the image (with its layers and config) as an image tar, to load on another engine */
  save(ref: string): Promise<Readable>;
  /** loads an image tar made by `save`; rejects when the engine reports a failure */
  load(tar: Readable): Promise<void>;
}

export interface ImageDetails {
  Id: string;
  /** the `repo:tag` names that point at it */
  RepoTags?: string[] | null;
  Config?: { Labels?: Labels | null } | null;
}

/** The build endpoint's query parameters that airlock sets. */
export interface ImageBuildOptions {
  t: string;
  dockerfile: string;
  target?: string;
  buildargs: Record<string, string>;
  labels: Labels;
  networkmode: string;
  rm: boolean;
  forcerm: boolean;
  nocache: boolean;
  abortSignal?: AbortSignal;
}

export interface ContainerClient {
  create(spec: ContainerSpec): Promise<EngineContainer>;
  /** a handle on an existing container (not checked until used) */
  get(id: string): EngineContainer;
  /** every container (running or not) matching the filters */
  list(filters: Filters): Promise<{ Id: string; Labels?: Labels | null }[]>;
}

/** What a container is created with (the create endpoint's body). */
export interface ContainerSpec {
  Image: string;
  Entrypoint?: string[];
  Cmd?: string[];
  User?: string;
  Env?: string[];
  Hostname?: string;
  Domainname?: string;
  WorkingDir?: string;
  Labels?: Labels;
  NetworkDisabled?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  OpenStdin?: boolean;
  Tty?: boolean;
  Healthcheck?: { Test: string[]; Interval: number; Timeout: number; Retries: number; StartPeriod: number };
  HostConfig?: Record<string, unknown>;
  NetworkingConfig?: { EndpointsConfig: Record<string, { Aliases: string[] }> };
}

export interface EngineContainer {
  readonly id: string;
  /** rejects with a 404 once the container is gone */
  inspect(): Promise<ContainerDetails>;
  start(): Promise<void>;
  kill(signal: string): Promise<void>;
  /** `volumes` removes its anonymous volumes too */
  remove(opts: { force: boolean; volumes?: boolean }): Promise<void>;
  /** until the container exits */
  wait(): Promise<{ StatusCode: number }>;
  /** creates an exec of argv (stdout and stderr attached, no stdin, no TTY); rejects with 409 when the container is not running */
  exec(spec: { Cmd: string[]; Env?: string[] }): Promise<EngineExec>;
  /** the log so far (multiplexed frames, see wait/logs.ts), the last `tail` lines or all */
  logs(tail?: number): Promise<Buffer>;
  /** the log from the start, followed until the container ends (multiplexed frames) */
  followLogs(): Promise<Readable>;
  /** the whole filesystem as a tar */
  export(): Promise<Readable>;
  /** one path as a tar (the archive API, which cannot see tmpfs mounts); rejects with a 404 when absent */
  readArchive(path: string): Promise<Readable>;
  /** extracts a tar at `path` */
  writeArchive(tar: Buffer, path: string): Promise<void>;
}

export interface ContainerDetails {
  Id: string;
  HostConfig: ReadbackHostConfig;
  Config: { User: string };
  State: ContainerState;
  NetworkSettings: { Networks: Record<string, NetworkEndpoint> };
}

export interface ContainerState {
  Status: string;
  Running: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  ExitCode: number;
  Error: string;
  Health?: { Status: string; FailingStreak: number; Log?: { ExitCode: number; Output: string }[] | null };
}

/** A container's attachment to one network, as the engine reports it (recorded in full). */
export interface NetworkEndpoint {
  Aliases?: string[] | null;
  NetworkID: string;
  IPAddress: string;
  [key: string]: unknown;
}

export interface EngineExec {
  /** starts it, writing its stdout and stderr apart; the returned stream ends when the exec does (destroy it to abandon) */
  start(stdout: Writable, stderr: Writable): Promise<Readable>;
  inspect(): Promise<{ Running: boolean; ExitCode: number | null }>;
}

export interface NetworkClient {
  /** resolves with the new network's id */
  create(spec: NetworkSpec): Promise<string>;
  inspect(id: string): Promise<NetworkDetails>;
  remove(id: string): Promise<void>;
  list(filters: Filters): Promise<{ Id: string; Labels?: Labels | null }[]>;
}

export interface NetworkSpec {
  Name: string;
  Driver: string;
  Internal: boolean;
  Attachable: boolean;
  EnableIPv6: boolean;
  CheckDuplicate: boolean;
  Labels: Labels;
}

export interface NetworkDetails {
  Id: string;
  Name: string;
  Driver: string;
  Internal: boolean;
  IPAM?: unknown;
  Labels?: Labels | null;
}

export interface VolumeClient {
  /** creates a named volume; an existing one of that name is left as it is */
  create(spec: { Name: string; Labels: Labels }): Promise<void>;
  list(filters: Filters): Promise<{ Name: string; Labels?: Labels | null }[]>;
  remove(name: string, opts: { force: boolean }): Promise<void>;
}
