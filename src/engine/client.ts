import { AirlockError } from '../errors.js';
import { dockerEngine } from './docker-engine.js';
import { loadDockerode } from './dockerode.js';
import type { Engine, EngineVersion } from './engine.js';
import { dockerOptions, resolveEngineEndpoint, type EngineEndpoint } from './endpoint.js';

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

type VersionComponents = Pick<EngineVersion, 'Components'>;

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

/** Each engine's product, asked once (the engine behind a handle does not change); one entry per engine in use. */
const PRODUCT = new WeakMap<Engine, Promise<EngineProduct>>();

/** Which product an engine is; one that cannot say is `unknown`. */
export function engineProduct(engine: Engine): Promise<EngineProduct> {
  let product = PRODUCT.get(engine);
  if (!product) {
    product = engine.system.version().then(
      (v) => productOf(v),
      (e: unknown) => {
        PRODUCT.delete(engine); // an engine that did not answer is asked again next time
        throw e;
      },
    );
    PRODUCT.set(engine, product);
  }
  return product;
}

const HINT = 'run `bash scripts/ensure-engine.sh` (or `make setup`) to start or install one, or set DOCKER_HOST or DOCKER_CONTEXT';

/**
 * The engine the docker CLI would use (DOCKER_HOST, else DOCKER_CONTEXT or the current
 * context, else the default socket; see endpoint.ts). Callers pass it down explicitly:
 * there is no module-level client to reset between tests.
 */
export function connectEngine(env: NodeJS.ProcessEnv = process.env): Engine {
  return connectEndpoint(resolveEngineEndpoint(env));
}

/** The engine at `endpoint`, named `name` in messages (default: the endpoint and what chose it). */
export function connectEndpoint(endpoint: EngineEndpoint, name = `${endpoint.host} (${endpoint.source})`): Engine {
  const Docker = loadDockerode();
  return dockerEngine(new Docker(dockerOptions(endpoint)), { endpoint: endpoint.host, name });
}

export async function engineInfo(engine: Engine, timeoutMs = 10_000): Promise<EngineInfo> {
  const where = engine.name;
  try {
    const timer = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
    );
    const [version, info] = await Promise.race([Promise.all([engine.system.version(), engine.system.info()]), timer]);
    const product = productOf(version);
    PRODUCT.set(engine, Promise.resolve(product));
    // Podman's DefaultRuntime is its configuration's; the runtime it runs with is in its components
    const podmanRuntime = product === 'podman' ? podmanOciRuntime(version) : undefined;
    return {
      version: version.Version,
      apiVersion: version.ApiVersion,
      os: version.Os,
      arch: version.Arch,
      kernel: version.KernelVersion,
      storageDriver: String(info.Driver ?? ''),
      cgroupVersion: String(info.CgroupVersion ?? ''),
      runtimes: Object.keys(info.Runtimes ?? {}).sort(),
      defaultRuntime: podmanRuntime ?? String(info.DefaultRuntime ?? 'runc'),
      product,
    };
  } catch (e) {
    throw new AirlockError('ENGINE_UNAVAILABLE', `no container engine answers at ${where}: ${(e as Error).message}; ${HINT}`, {
      cause: e,
      details: { where },
    });
  }
}

/** The engine reports HTTP failures as errors carrying `statusCode`; known codes are handled by name. */
export function statusCode(e: unknown): number | undefined {
  return typeof e === 'object' && e !== null && 'statusCode' in e ? Number((e as { statusCode: unknown }).statusCode) : undefined;
}

export function isNotFound(e: unknown): boolean {
  return statusCode(e) === 404;
}
