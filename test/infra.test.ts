import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDockerfileStages } from '../src/plan/dockerfile.js';
import { digestHex, sha256Digest } from '../src/util/digest.js';
import { REPO } from './helpers.js';

const COMPOSE = join(REPO, 'infra/compose.yaml');
const PROJECT = `airlock-dev-test-${process.pid}`;
const compose = (...args: string[]) => execa('docker-compose', ['-p', PROJECT, '-f', COMPOSE, ...args], { reject: false, cwd: REPO });

interface Service {
  build?: { target?: string; dockerfile?: string };
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
}

afterAll(async () => {
  await compose('down', '-v', '--remove-orphans');
});

describe("the project's dev stack (infra/compose.yaml)", () => {
  it('is valid for docker-compose', async () => {
    const r = await compose('config', '-q');
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it("builds every service from an existing stage of infra/Dockerfile, hardened and health-gated", async () => {
    const services = (parse(await readFile(COMPOSE, 'utf8')) as { services: Record<string, Service> }).services;
    const stages = parseDockerfileStages(await readFile(join(REPO, 'infra/Dockerfile'), 'utf8')).stages.map((s) => s.name);
    for (const [name, svc] of Object.entries(services)) {
      expect(svc.build?.dockerfile, name).toBe('infra/Dockerfile');
      expect(stages, name).toContain(svc.build?.target);
      expect(svc.healthcheck?.test.length, name).toBeGreaterThan(0);
      expect(svc.read_only, name).toBe(true);
      expect(svc.cap_drop, name).toEqual(['ALL']);
      expect(svc.security_opt, name).toContain('no-new-privileges:true');
      for (const dep of Object.values(svc.depends_on ?? {})) expect(dep.condition, name).toBe('service_healthy');
    }
    expect(services.reports?.depends_on).toEqual({ cas: { condition: 'service_healthy' } });
  });

  it('comes up healthy and serves the shared remote cache: PUT then GET by digest, nothing outside /cas/ and /ac/', async () => {
    // cas-server is FROM the stack's own locked nginx base
    const base = await execa('node', [join(REPO, 'bin/airlock'), 'base', '-f', join(REPO, 'infra/airlock.yaml')], { reject: false, cwd: REPO });
    expect(base.exitCode, base.stderr).toBe(0);
    const up = await compose('up', '-d', '--build');
    expect(up.exitCode, up.stderr).toBe(0);
    const deadline = Date.now() + 60_000;
    let states: string[] = [];
    while (Date.now() < deadline) {
      const ps = await execa('docker', ['ps', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--format', '{{.Status}}']);
      states = ps.stdout.split('\n').filter(Boolean);
      if (states.length === 2 && states.every((s) => s.includes('(healthy)'))) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(states).toHaveLength(2);
    expect(states.every((s) => s.includes('(healthy)'))).toBe(true);
    const body = `dev stack probe ${PROJECT}\n`;
    const url = `http://127.0.0.1:9090/cas/${digestHex(sha256Digest(body))}`;
    expect((await fetch(url, { method: 'PUT', body })).status).toBeLessThan(300);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(body);
    expect((await fetch('http://127.0.0.1:9090/elsewhere/x', { method: 'PUT', body })).status).toBeGreaterThanOrEqual(400);
    expect((await fetch(url, { method: 'DELETE' })).status).toBeGreaterThanOrEqual(400);
  });
});
