import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineList, userConfigPath } from './engine-list.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'airlock-engines-'));
const certs = () => {
  const dir = tmp();
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, f), `${f}\n`);
  return dir;
};

describe('engineList', () => {
  it('reads AIRLOCK_ENGINES, names by position unless named', () => {
    const nodes = engineList({ AIRLOCK_ENGINES: 'unix:///a.sock, fast=ssh://root@127.0.0.1:2222 ,tcp://10.0.0.2:2375', HOME: tmp() });
    expect(nodes.map((n) => [n.name, n.endpoint.host])).toEqual([
      ['engine-1', 'unix:///a.sock'],
      ['fast', 'ssh://root@127.0.0.1:2222'],
      ['engine-3', 'tcp://10.0.0.2:2375'],
    ]);
    expect(nodes[1]!.endpoint.source).toBe('AIRLOCK_ENGINES (fast)');
  });

  it('gives tcp:// engines the TLS files of DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set', () => {
    const dir = certs();
    const [tcp, unix] = engineList({ AIRLOCK_ENGINES: 'tcp://h:2376,unix:///s', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir, HOME: tmp() });
    expect(tcp!.endpoint.tls?.ca?.toString()).toBe('ca.pem\n');
    expect(unix!.endpoint.tls).toBeUndefined();
  });

  it('refuses an item that is not an engine address, and a name used twice', () => {
    expect(() => engineList({ AIRLOCK_ENGINES: 'unix:///a,localhost:2375' })).toThrow(/item 2 "localhost:2375"/);
    expect(() => engineList({ AIRLOCK_ENGINES: 'a=unix:///a,a=unix:///b' })).toThrow(/node name a is used twice/);
  });

  it('reads the user config when AIRLOCK_ENGINES is unset, and nothing when neither exists', () => {
    const home = tmp();
    expect(engineList({ HOME: home })).toEqual([]);
    mkdirSync(join(home, '.config', 'airlock'), { recursive: true });
    const dir = certs();
    writeFileSync(join(home, '.config', 'airlock', 'config.yaml'), `engines:\n  - unix:///x.sock\n  - { host: "tcp://b:2376", name: b, tls: ${dir} }\n`);
    const nodes = engineList({ HOME: home });
    expect(nodes.map((n) => n.name)).toEqual(['engine-1', 'b']);
    expect(nodes[1]!.endpoint.tls?.key?.toString()).toBe('key.pem\n');
  });

  it('reports every problem of the config with file:line:column', () => {
    const file = join(tmp(), 'c.yaml');
    writeFileSync(file, 'engines:\n  - ftp://x\n  - { host: "unix:///s", nam: y }\n');
    let message = '';
    try {
      engineList({ AIRLOCK_CONFIG: file });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`${file}:2:5: engines[0]`);
    expect(message).toContain(`${file}:3:26: engines[1].nam`);
  });

  it('follows XDG_CONFIG_HOME and AIRLOCK_CONFIG', () => {
    expect(userConfigPath({ HOME: '/h' })).toBe('/h/.config/airlock/config.yaml');
    expect(userConfigPath({ XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/x/airlock/config.yaml');
    expect(userConfigPath({ AIRLOCK_CONFIG: '/c.yaml' })).toBe('/c.yaml');
  });
});
