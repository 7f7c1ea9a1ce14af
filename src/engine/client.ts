import Docker from 'dockerode';
import { AirlockError } from '../errors.js';
import { dockerOptions, resolveEngineEndpoint } from './endpoint.js';

/** What the transcript records about the engine a run used. */
export interface EngineInfo {
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
  kernel: string;
  storageDriver: string;
  cgroupVersion: string;
  runtimes: string[];
  defaultRuntime: string;
  /** Podman answers the Docker API too; it names itself in the version components. */
  product: 'docker' | 'podman' | 'unknown';
}

const HINT = 'run `bash scripts/ensure-engine.sh` (or `make setup`) to start or install one, or set DOCKER_HOST or DOCKER_CONTEXT';

/** Where a client connects, for messages: the endpoint and what chose it. */
const WHERE = new WeakMap<Docker, string>();

/**
 * A dockerode client for the engine the docker CLI would use (DOCKER_HOST, else
 * DOCKER_CONTEXT or the current context, else the default socket; see endpoint.ts).
 * Callers pass it down explicitly: there is no module-level client to reset between tests.
 */
export function connectEngine(env: NodeJS.ProcessEnv = process.env): Docker {
  const endpoint = resolveEngineEndpoint(env);
  const docker = new Docker(dockerOptions(endpoint));
  WHERE.set(docker, `${endpoint.host} (${endpoint.source})`);
  return docker;
}

export async function engineInfo(docker: Docker, timeoutMs = 10_000): Promise<EngineInfo> {
  const where = WHERE.get(docker) ?? 'the engine';
  try {
    const timer = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
    );
    const [version, info] = await Promise.race([Promise.all([docker.version(), docker.info()]), timer]);
    const components = (version as { Components?: { Name: string }[] }).Components ?? [];
    const product = components.some((c) => /podman/i.test(c.Name))
      ? 'podman'
      : components.some((c) => /engine/i.test(c.Name))
        ? 'docker'
        : 'unknown';
    return {
      version: version.Version,
      apiVersion: version.ApiVersion,
      os: version.Os,
      arch: version.Arch,
      kernel: version.KernelVersion,
      storageDriver: String(info.Driver ?? ''),
      cgroupVersion: String((info as { CgroupVersion?: string }).CgroupVersion ?? ''),
      runtimes: Object.keys((info as { Runtimes?: Record<string, unknown> }).Runtimes ?? {}).sort(),
      defaultRuntime: String((info as { DefaultRuntime?: string }).DefaultRuntime ?? 'runc'),
      product,
    };
  } catch (e) {
    throw new AirlockError('ENGINE_UNAVAILABLE', `no container engine answers at ${where}: ${(e as Error).message}; ${HINT}`, {
      cause: e,
      details: { where },
    });
  }
}

/** dockerode reports HTTP failures as errors carrying `statusCode`; known codes are handled by name. */
export function statusCode(e: unknown): number | undefined {
  return typeof e === 'object' && e !== null && 'statusCode' in e ? Number((e as { statusCode: unknown }).statusCode) : undefined;
}

export function isNotFound(e: unknown): boolean {
  return statusCode(e) === 404;
}
