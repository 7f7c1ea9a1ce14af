import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { readTls, type EngineEndpoint } from '../engine/endpoint.js';
import { AirlockError } from '../errors.js';
import { formatPath, fromZod } from '../spec/issues.js';
import { textLocator } from '../spec/locate.js';

/** One engine a run may place cells on, and the name the transcript and messages give it. */
export interface NodeEndpoint {
  name: string;
  endpoint: EngineEndpoint;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const HOST_RE = /^(unix|tcp|ssh|http|https):\/\/./;
const MAX_CONFIG_BYTES = 256 * 1024;

const host = z.string().regex(HOST_RE, 'an engine address: unix:///path, tcp://host:port or ssh://user@host');
const entry = z.union([
  host,
  z.strictObject({
    host,
    name: z.string().regex(NAME_RE, 'a node name: letters, digits, ".", "_", "-"').optional(),
    /** a folder with ca.pem, cert.pem and key.pem (docker's DOCKER_CERT_PATH layout) */
    tls: z.string().refine(isAbsolute, 'an absolute folder path').optional(),
  }),
]);
const configSchema = z.looseObject({ engines: z.array(entry).min(1).optional() });

/** `$XDG_CONFIG_HOME/airlock/config.yaml`, else `~/.config/airlock/config.yaml`; AIRLOCK_CONFIG names another. */
export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AIRLOCK_CONFIG) return env.AIRLOCK_CONFIG;
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config'), 'airlock', 'config.yaml');
}

/**
 * The engines of a run: `AIRLOCK_ENGINES` (`[name=]address,…`), else the user config's `engines:`
 * list, else none (the run uses the one engine the docker CLI would). tcp:// addresses take their
 * TLS files the way the docker CLI does (DOCKER_TLS_VERIFY + DOCKER_CERT_PATH), or per entry in the
 * config (`tls: <folder>`). Names default to `engine-<n>` by position and must be unique.
 */
export function engineList(env: NodeJS.ProcessEnv = process.env): NodeEndpoint[] {
  const listed = env.AIRLOCK_ENGINES?.trim();
  if (listed) return fromVariable(listed, env);
  const file = userConfigPath(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new AirlockError('USAGE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`, { cause: e, details: { where: file } });
  }
  return fromConfig(text, file, env);
}

function fromVariable(value: string, env: NodeJS.ProcessEnv): NodeEndpoint[] {
  const nodes = value.split(',').map((part, i) => {
    const item = part.trim();
    const eq = item.indexOf('=');
    // a name never holds ':' or '/', an address always does before any '='
    const named = eq > 0 && NAME_RE.test(item.slice(0, eq));
    const name = named ? item.slice(0, eq) : `engine-${i + 1}`;
    const address = named ? item.slice(eq + 1) : item;
    if (!HOST_RE.test(address)) {
      throw new AirlockError('USAGE', `AIRLOCK_ENGINES item ${i + 1} "${item}": expected [name=]unix:///path, tcp://host:port or ssh://user@host`, {
        details: { where: 'AIRLOCK_ENGINES', item: i + 1 },
      });
    }
    return { name, endpoint: endpointOf(address, `AIRLOCK_ENGINES (${name})`, env) };
  });
  return unique(nodes, 'AIRLOCK_ENGINES');
}

function fromConfig(text: string, file: string, env: NodeJS.ProcessEnv): NodeEndpoint[] {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new AirlockError('USAGE', `${file}: larger than ${MAX_CONFIG_BYTES} bytes`, { details: { where: file } });
  let data: unknown;
  try {
    data = parse(text, { prettyErrors: false });
  } catch (e) {
    throw new AirlockError('USAGE', `${file}: not YAML (${(e as Error).message})`, { cause: e, details: { where: file } });
  }
  const parsed = configSchema.safeParse(data ?? {});
  if (!parsed.success) {
    const at = textLocator(text);
    const problems = fromZod(parsed.error.issues).map((p) => {
      const pos = at(p.path, p.onKey);
      return `${file}:${pos.line}:${pos.column}: ${formatPath(p.path)}: ${p.message}`;
    });
    throw new AirlockError('USAGE', `the user config is invalid:\n${problems.join('\n')}`, { details: { where: file, problems } });
  }
  const nodes = (parsed.data.engines ?? []).map((e, i) => {
    const item = typeof e === 'string' ? { host: e } : e;
    const name = item.name ?? `engine-${i + 1}`;
    const source = `${file} engines[${i}] (${name})`;
    const endpoint = item.tls ? { ...endpointOf(item.host, source, {}), tls: readTls(item.tls, source) } : endpointOf(item.host, source, env);
    return { name, endpoint };
  });
  return unique(nodes, file);
}

function endpointOf(address: string, source: string, env: NodeJS.ProcessEnv): EngineEndpoint {
  const certs = env.DOCKER_CERT_PATH;
  const tls = address.startsWith('tcp://') && env.DOCKER_TLS_VERIFY && certs ? readTls(certs, 'DOCKER_CERT_PATH') : undefined;
  return { source, host: address, ...(tls && { tls }), skipTLSVerify: false };
}

function unique(nodes: NodeEndpoint[], where: string): NodeEndpoint[] {
  const seen = new Set<string>();
  for (const n of nodes) {
    if (seen.has(n.name)) throw new AirlockError('USAGE', `${where}: node name ${n.name} is used twice`, { details: { where, name: n.name } });
    seen.add(n.name);
  }
  return nodes;
}
