import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { AirlockError } from '../errors.js';
import type { ContainerDetails, Engine, EngineContainer, EngineExec, ImageDetails, NetworkDetails } from './engine.js';
import { readEngineMessages } from './json-stream.js';

/**
 * The Engine interface over a dockerode client, which it receives (one per endpoint).
 * Results are dockerode's as they came: the types in engine.ts name only the fields
 * airlock reads, and whatever it records in full (a network endpoint) stays whole.
 */
export function dockerEngine(docker: Docker, { endpoint, name }: { endpoint: string; name: string }): Engine {
  return {
    endpoint,
    name,
    system: {
      version: () => docker.version(),
      info: () => docker.info(),
    },
    images: {
      inspect: async (ref) => (await docker.getImage(ref).inspect()) as ImageDetails,
      history: (ref) => docker.getImage(ref).history() as Promise<{ Id?: string }[]>,
      tag: async (ref, repo, tag) => void (await docker.getImage(ref).tag({ repo, tag })),
      remove: async (ref, opts = {}) => void (await docker.getImage(ref).remove(opts)),
      list: (filters) => docker.listImages({ filters }),
      build: async (context, options) => (await docker.buildImage(context, options as Docker.ImageBuildOptions)) as unknown as Readable,
      // dockerode's types leave out `changes`, which the engine's import endpoint takes
      import: async (rootfs, options) => (await docker.importImage(rootfs, options as object)) as unknown as Readable,
      save: async (ref) => (await docker.getImage(ref).get()) as unknown as Readable,
      load: async (tar) => {
        let error: string | undefined;
        // like a build, a failed load is reported inside a 200 response
        await readEngineMessages((await docker.loadImage(tar)) as unknown as Readable, (m) => {
          if (m.error !== undefined) error = m.errorDetail?.message ?? m.error;
        });
        if (error !== undefined) throw new AirlockError('ENGINE_ERROR', `the engine could not load the image: ${error}`, { details: { error } });
      },
    },
    containers: {
      create: async (spec) => containerOf(docker, await docker.createContainer(spec as Docker.ContainerCreateOptions)),
      get: (id) => containerOf(docker, docker.getContainer(id)),
      list: (filters) => docker.listContainers({ all: true, filters }),
    },
    networks: {
      create: async (spec) => (await docker.createNetwork(spec)).id,
      inspect: async (id) => (await docker.getNetwork(id).inspect()) as NetworkDetails,
      remove: async (id) => void (await docker.getNetwork(id).remove()),
      list: (filters) => docker.listNetworks({ filters }),
    },
    volumes: {
      create: async (spec) => void (await docker.createVolume(spec)),
      list: async (filters) => (await docker.listVolumes({ filters })).Volumes ?? [],
      remove: async (name, opts) => void (await docker.getVolume(name).remove(opts)),
    },
  };
}

function containerOf(docker: Docker, container: Docker.Container): EngineContainer {
  return {
    id: container.id,
    inspect: async () => (await container.inspect()) as unknown as ContainerDetails,
    start: async () => void (await container.start()),
    kill: async (signal) => void (await container.kill({ signal })),
    remove: async ({ force, volumes = false }) => void (await container.remove({ force, v: volumes })),
    wait: () => container.wait() as Promise<{ StatusCode: number }>,
    exec: async ({ Cmd, Env }) =>
      execOf(docker, await container.exec({ Cmd, ...(Env ? { Env } : {}), AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false })),
    logs: async (tail) => {
      const log = await container.logs({ follow: false, stdout: true, stderr: true, ...(tail !== undefined ? { tail } : {}) });
      return Buffer.isBuffer(log) ? log : Buffer.from(String(log));
    },
    followLogs: async () => (await container.logs({ follow: true, stdout: true, stderr: true })) as unknown as Readable,
    export: async () => (await container.export()) as unknown as Readable,
    readArchive: async (path) => (await container.getArchive({ path })) as unknown as Readable,
    writeArchive: async (tar, path) => void (await container.putArchive(tar, { path })),
  };
}

function execOf(docker: Docker, exec: Docker.Exec): EngineExec {
  return {
    start: async (stdout, stderr) => {
      const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Readable;
      docker.modem.demuxStream(stream, stdout, stderr);
      return stream;
    },
    inspect: async () => {
      const info = await exec.inspect();
      return { Running: info.Running, ExitCode: info.ExitCode ?? null };
    },
  };
}
