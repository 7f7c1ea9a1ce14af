import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Agent as HttpAgent } from 'node:http';
import { Agent } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { AirlockError } from '../errors.js';
import { sshHttpAgent } from './ssh-agent.js';
import { sshOptions } from './ssh-options.js';

/**
 * Which engine to talk to, picked the way the docker CLI picks it, so that a user's
 * `docker context use …` applies to airlock too: DOCKER_HOST, else the context named by
 * DOCKER_CONTEXT, else the config's `currentContext`, else the default socket.
 */
export interface EngineEndpoint {
  /** where the choice came from, for messages: `DOCKER_HOST`, `context "x" (DOCKER_CONTEXT)`, `default socket` */
  source: string;
  /** the endpoint URL: unix:///…, tcp://host:port, ssh://user@host */
  host: string;
  /** PEM files of the connection, when it uses TLS */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** the context says not to check the server's certificate (docker's SkipTLSVerify) */
  skipTLSVerify: boolean;
}

export const DEFAULT_HOST = 'unix:///var/run/docker.sock';
const DEFAULT_CONTEXT = 'default';

interface ContextMeta {
  Name?: string;
  Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } };
}

export function resolveEngineEndpoint(env: NodeJS.ProcessEnv = process.env): EngineEndpoint {
  if (env.DOCKER_HOST) {
    // The docker CLI's own environment convention for TLS with DOCKER_HOST.
    const certs = env.DOCKER_CERT_PATH;
    const tls = env.DOCKER_TLS_VERIFY && certs ? readTls(certs, 'DOCKER_CERT_PATH') : undefined;
    return { source: 'DOCKER_HOST', host: env.DOCKER_HOST, ...(tls && { tls }), skipTLSVerify: false };
  }
  const configDir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  const fromEnv = env.DOCKER_CONTEXT;
  const name = fromEnv || currentContext(configDir);
  if (!name || name === DEFAULT_CONTEXT) return { source: 'default socket', host: DEFAULT_HOST, skipTLSVerify: false };

  const source = `context "${name}" (${fromEnv ? 'DOCKER_CONTEXT' : `currentContext of ${join(configDir, 'config.json')}`})`;
  // The CLI stores a context under the sha256 of its name, so any name is a safe directory.
  const id = createHash('sha256').update(name).digest('hex');
  const metaPath = join(configDir, 'contexts', 'meta', id, 'meta.json');
  const meta = readJson<ContextMeta>(metaPath, `${source}: no such context (`);
  const endpoint = meta.Endpoints?.docker;
  if (!endpoint?.Host) {
    throw new AirlockError('ENGINE_UNAVAILABLE', `${source}: ${metaPath} names no docker endpoint Host`, {
      details: { where: metaPath, context: name },
    });
  }
  const tls = readTls(join(configDir, 'contexts', 'tls', id, 'docker'), source, true);
  return { source, host: endpoint.Host, ...(tls && { tls }), skipTLSVerify: endpoint.SkipTLSVerify === true };
}

/** docker-modem takes an `agent` for HTTPS requests; dockerode's types leave it out. */
type ModemOptions = Docker.DockerOptions & { agent?: Agent | HttpAgent };

/** dockerode options for an endpoint (unix socket, tcp with or without TLS, ssh). */
export function dockerOptions(endpoint: EngineEndpoint, env: NodeJS.ProcessEnv = process.env): ModemOptions {
  const { host, tls } = endpoint;
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) || '/var/run/docker.sock' };
  let url: URL;
  try {
    url = new URL(host);
  } catch (e) {
    throw new AirlockError('ENGINE_UNAVAILABLE', `${endpoint.source}: ${host} is not an engine address (unix://, tcp://, ssh://)`, {
      cause: e,
      details: { where: host },
    });
  }
  if (url.protocol === 'ssh:') {
    const port = Number(url.port || 22);
    // plain HTTP over our own agent: one SSH session whose channels run `docker system dial-stdio`
    const target = { host: url.hostname, port, ...(url.username ? { username: decodeURIComponent(url.username) } : {}), ...sshOptions(url.hostname, port, env) };
    return { protocol: 'http', host: url.hostname, port, agent: sshHttpAgent(target) };
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AirlockError('ENGINE_UNAVAILABLE', `${endpoint.source}: ${host}: unsupported scheme ${url.protocol}`, { details: { where: host } });
  }
  const secure = tls !== undefined || url.protocol === 'https:' || url.port === '2376';
  const options: ModemOptions = {
    protocol: secure ? 'https' : 'http',
    host: url.hostname,
    port: url.port || (secure ? 2376 : 2375),
    ...(tls?.ca && { ca: tls.ca }),
    ...(tls?.cert && { cert: tls.cert }),
    ...(tls?.key && { key: tls.key }),
  };
  // docker-modem has no switch for it; an agent that does not check the server is what SkipTLSVerify means.
  if (endpoint.skipTLSVerify) options.agent = new Agent({ rejectUnauthorized: false, ca: tls?.ca, cert: tls?.cert, key: tls?.key });
  return options;
}

function currentContext(configDir: string): string | undefined {
  const path = join(configDir, 'config.json');
  const config = readJson<{ currentContext?: unknown } | undefined>(path, `cannot read ${path} (`, true);
  return typeof config?.currentContext === 'string' ? config.currentContext : undefined;
}

/** `{ca,cert,key}.pem` of a folder; undefined when none is there (`optional`) or the folder is absent. */
export function readTls(dir: string, source: string, optional = false): EngineEndpoint['tls'] {
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && optional) return undefined;
      throw new AirlockError('ENGINE_UNAVAILABLE', `${source}: cannot read ${join(dir, name)} (${(e as NodeJS.ErrnoException).code ?? e})`, {
        cause: e,
        details: { where: join(dir, name) },
      });
    }
  };
  const tls = { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
  return tls.ca || tls.cert || tls.key ? tls : undefined;
}

function readJson<T>(path: string, prefix: string, missingOk = false): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (missingOk && code === 'ENOENT') return undefined as T;
    throw new AirlockError('ENGINE_UNAVAILABLE', `${prefix}${path}: ${code ?? e})`, { cause: e, details: { where: path } });
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new AirlockError('ENGINE_UNAVAILABLE', `${prefix}${path} is not JSON)`, { cause: e, details: { where: path } });
  }
}
