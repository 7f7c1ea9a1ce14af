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
  product: EngineProduct;
}

export type EngineProduct = 'docker' | 'podman' | 'unknown';

type VersionComponents = { Components?: { Name: string }[] };

/** Which engine answers, from the components its version names ("Podman Engine", "Engine"). */
export function productOf(version: VersionComponents): EngineProduct {
  const components = version.Components ?? [];
  return components.some((c) => /podman/i.test(c.Name)) ? 'podman' : components.some((c) => /engine/i.test(c.Name)) ? 'docker' : 'unknown';
}

/**
 * The OCI runtime Podman runs every container with, as its version components name it
 * ("OCI Runtime (runc)"): its info's Runtimes lists every runtime its configuration knows,
 * installed or not, and its containers read back `oci` as their runtime.
 */
export function podmanOciRuntime(version: VersionComponents): string | undefined {
  for (const c of version.Components ?? []) {
    const m = /^OCI Runtime \((.+)\)$/.exec(c.Name);
    if (m) return m[1];
  }
  return undefined;
}

/** Each client's product, asked once (the engine behind a client does not change). */
const PRODUCT = new WeakMap<Docker, Promise<EngineProduct>>();

/** Which engine a client talks to; an engine that cannot say is `unknown`. */
export function engineProduct(docker: Docker): Promise<EngineProduct> {
  let product = PRODUCT.get(docker);
  if (!product) {
    product = docker.version().then(
      (v) => productOf(v as VersionComponents),
      (e: unknown) => {
        PRODUCT.delete(docker); // an engine that did not answer is asked again next time
        throw e;
      },
    );
    PRODUCT.set(docker, product);
  }
  return product;
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
    const product = productOf(version as VersionComponents);
    PRODUCT.set(docker, Promise.resolve(product));
    // Podman's DefaultRuntime is its configuration's; the runtime it runs with is in its components
    const podmanRuntime = product === 'podman' ? podmanOciRuntime(version as VersionComponents) : undefined;
    return {
      version: version.Version,
      apiVersion: version.ApiVersion,
      os: version.Os,
      arch: version.Arch,
      kernel: version.KernelVersion,
      storageDriver: String(info.Driver ?? ''),
      cgroupVersion: String((info as { CgroupVersion?: string }).CgroupVersion ?? ''),
      runtimes: Object.keys((info as { Runtimes?: Record<string, unknown> }).Runtimes ?? {}).sort(),
      defaultRuntime: podmanRuntime ?? String((info as { DefaultRuntime?: string }).DefaultRuntime ?? 'runc'),
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
