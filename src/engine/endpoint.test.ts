import { Agent as HttpAgent } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_HOST, dockerOptions, resolveEngineEndpoint } from './endpoint.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'airlock-home-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const docker = () => join(home, '.docker');
const idOf = (name: string) => createHash('sha256').update(name).digest('hex');

/** A context as `docker context create` writes it. */
async function addContext(name: string, endpoint: Record<string, unknown>, tls?: Record<string, string>): Promise<void> {
  const meta = join(docker(), 'contexts', 'meta', idOf(name));
  await mkdir(meta, { recursive: true });
  await writeFile(join(meta, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: endpoint } }));
  if (tls) {
    const dir = join(docker(), 'contexts', 'tls', idOf(name), 'docker');
    await mkdir(dir, { recursive: true });
    for (const [file, text] of Object.entries(tls)) await writeFile(join(dir, file), text);
  }
}

async function useContext(name: string): Promise<void> {
  await mkdir(docker(), { recursive: true });
  await writeFile(join(docker(), 'config.json'), JSON.stringify({ auths: {}, currentContext: name }));
}

describe('resolveEngineEndpoint', () => {
  it('is the default socket with no config at all', () => {
    expect(resolveEngineEndpoint({ HOME: home })).toEqual({ source: 'default socket', host: DEFAULT_HOST, skipTLSVerify: false });
  });

  it('takes the current context of config.json, with its endpoint and TLS material', async () => {
    await addContext('remote', { Host: 'tcp://10.0.0.5:2376', SkipTLSVerify: false }, { 'ca.pem': 'CA', 'cert.pem': 'CERT', 'key.pem': 'KEY' });
    await useContext('remote');
    const endpoint = resolveEngineEndpoint({ HOME: home });
    expect(endpoint).toMatchObject({ host: 'tcp://10.0.0.5:2376', skipTLSVerify: false, source: expect.stringContaining('context "remote" (currentContext') });
    expect(endpoint.tls).toEqual({ ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY') });
    expect(dockerOptions(endpoint)).toEqual({
      protocol: 'https',
      host: '10.0.0.5',
      port: '2376',
      ca: Buffer.from('CA'),
      cert: Buffer.from('CERT'),
      key: Buffer.from('KEY'),
    });
  });

  it('lets DOCKER_CONTEXT override currentContext, and DOCKER_HOST override both', async () => {
    await addContext('a', { Host: 'unix:///run/a.sock' });
    await addContext('b', { Host: 'unix:///run/b.sock' });
    await useContext('a');
    expect(resolveEngineEndpoint({ HOME: home }).host).toBe('unix:///run/a.sock');
    expect(resolveEngineEndpoint({ HOME: home, DOCKER_CONTEXT: 'b' })).toMatchObject({ host: 'unix:///run/b.sock', source: 'context "b" (DOCKER_CONTEXT)' });
    expect(resolveEngineEndpoint({ HOME: home, DOCKER_CONTEXT: 'b', DOCKER_HOST: 'unix:///run/h.sock' })).toMatchObject({
      host: 'unix:///run/h.sock',
      source: 'DOCKER_HOST',
    });
    expect(resolveEngineEndpoint({ HOME: home, DOCKER_CONTEXT: 'default' }).host).toBe(DEFAULT_HOST);
    expect(dockerOptions(resolveEngineEndpoint({ HOME: home }))).toEqual({ socketPath: '/run/a.sock' });
  });

  it('reads DOCKER_CONFIG instead of ~/.docker', async () => {
    await addContext('c', { Host: 'unix:///run/c.sock' });
    expect(resolveEngineEndpoint({ HOME: '/nonexistent', DOCKER_CONFIG: docker(), DOCKER_CONTEXT: 'c' }).host).toBe('unix:///run/c.sock');
  });

  it('honours SkipTLSVerify with an agent that does not check the server, still presenting the client certificate', async () => {
    await addContext('lab', { Host: 'tcp://lab:2376', SkipTLSVerify: true }, { 'cert.pem': 'CERT', 'key.pem': 'KEY' });
    const options = dockerOptions(resolveEngineEndpoint({ HOME: home, DOCKER_CONTEXT: 'lab' }));
    expect(options.agent?.options).toMatchObject({ rejectUnauthorized: false, cert: Buffer.from('CERT'), key: Buffer.from('KEY') });
  });

  it('plain tcp without TLS material is http; ssh keeps the user', async () => {
    await addContext('plain', { Host: 'tcp://127.0.0.1:2375' });
    await addContext('ssh', { Host: 'ssh://me@box' });
    expect(dockerOptions(resolveEngineEndpoint({ HOME: home, DOCKER_CONTEXT: 'plain' }))).toEqual({ protocol: 'http', host: '127.0.0.1', port: '2375' });
    const env = { HOME: home, DOCKER_CONTEXT: 'ssh', SSH_AUTH_SOCK: '/agent.sock' };
    // one SSH session for every request: plain HTTP over an agent whose connections are SSH channels
    expect(dockerOptions(resolveEngineEndpoint(env), env)).toEqual({ protocol: 'http', host: 'box', port: 22, agent: expect.any(HttpAgent) });
  });

  it('DOCKER_HOST with DOCKER_TLS_VERIFY reads the certificates of DOCKER_CERT_PATH', async () => {
    await mkdir(join(home, 'certs'));
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) await writeFile(join(home, 'certs', f), f);
    const endpoint = resolveEngineEndpoint({ DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: join(home, 'certs') });
    expect(dockerOptions(endpoint)).toMatchObject({ protocol: 'https', host: 'h', ca: Buffer.from('ca.pem') });
  });

  it('names the context and the file when a context is missing or broken (ENGINE_UNAVAILABLE)', async () => {
    expect(() => resolveEngineEndpoint({ HOME: home, DOCKER_CONTEXT: 'nope' })).toThrow(
      expect.objectContaining({ code: 'ENGINE_UNAVAILABLE', message: expect.stringMatching(/context "nope" \(DOCKER_CONTEXT\): no such context/) }),
    );
    await addContext('empty', {});
    expect(() => resolveEngineEndpoint({ HOME: home, DOCKER_CONTEXT: 'empty' })).toThrow(/names no docker endpoint Host/);
    await mkdir(docker(), { recursive: true });
    await writeFile(join(docker(), 'config.json'), '{');
    expect(() => resolveEngineEndpoint({ HOME: home })).toThrow(expect.objectContaining({ code: 'ENGINE_UNAVAILABLE', message: expect.stringContaining('is not JSON') }));
    await addContext('ftp', { Host: 'ftp://x' });
    expect(() => dockerOptions(resolveEngineEndpoint({ HOME: home, DOCKER_CONTEXT: 'ftp' }))).toThrow(/unsupported scheme ftp:/);
  });
});
