import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import type { Policy } from '../spec/schema.js';
import { Sandbox } from './sandbox.js';

const POLICY = { network: 'none', readOnlyRootfs: true, tmpfs: ['/tmp'], user: '65534:65534', memoryBytes: 268435456, pids: 256, cpus: 1, timeoutMs: 60_000, loosened: [] } as unknown as Policy;

/**
 * An engine that records what it was asked and reads the container back through `edit`
 * (an engine that ignores or overrides fields); only the calls Sandbox.create makes.
 */
function fakeEngine(edit: (created: { HostConfig: Record<string, unknown>; User: string }) => void) {
  const calls: string[] = [];
  let created: Docker.ContainerCreateOptions | undefined;
  const container = {
    id: 'fake0',
    inspect: async () => {
      const readback = { HostConfig: structuredClone(created!.HostConfig) as Record<string, unknown>, User: created!.User ?? '' };
      edit(readback);
      return { HostConfig: readback.HostConfig, Config: { User: readback.User } };
    },
    remove: async (opts: unknown) => {
      calls.push(`remove ${JSON.stringify(opts)}`);
    },
    start: async () => {
      calls.push('start');
    },
  };
  const docker = {
    createContainer: async (opts: Docker.ContainerCreateOptions) => {
      created = opts;
      calls.push('create');
      return container;
    },
  } as unknown as Docker;
  return { docker, calls, created: () => created! };
}

const options = { runId: 'r1', envName: 'linux', image: 'airlock/busybox', policy: POLICY, env: {}, helper: '/cas/helpers/busybox', lifetimeMs: 60_000 };

describe('Sandbox.create', () => {
  it('creates the cell hardened by the rule table and keeps it when the engine applied all of it', async () => {
    const engine = fakeEngine(() => {});
    const sandbox = await Sandbox.create(engine.docker, options);
    expect(engine.calls).toEqual(['create', 'start']);
    expect(engine.created()).toMatchObject({
      User: '65534:65534',
      HostConfig: { NetworkMode: 'none', CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], ReadonlyRootfs: true, Memory: 268435456, PidsLimit: 256, NanoCpus: 1e9, Binds: ['/cas/helpers/busybox:/.airlock/busybox:ro'] },
    });
    expect(sandbox.user).toBe('65534:65534');
  });

  it.each([
    ['Memory', (c: { HostConfig: Record<string, unknown> }) => void (c.HostConfig.Memory = 0)],
    ['CapAdd', (c: { HostConfig: Record<string, unknown> }) => void (c.HostConfig.CapAdd = ['NET_ADMIN'])],
    ['NetworkMode', (c: { HostConfig: Record<string, unknown> }) => void (c.HostConfig.NetworkMode = 'bridge')],
    ['User', (c: { User: string }) => void (c.User = '')],
  ])('refuses and removes the container when the engine reads %s back otherwise', async (field, edit) => {
    const engine = fakeEngine(edit as (c: { HostConfig: Record<string, unknown>; User: string }) => void);
    const error = await Sandbox.create(engine.docker, options).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'POLICY_VIOLATION', message: expect.stringContaining(`${field}: expected`) });
    expect(engine.calls).toEqual(['create', 'remove {"force":true,"v":true}']);
  });
});
