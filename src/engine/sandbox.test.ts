import { hostHelper } from './hardening.js';
import { describe, expect, it } from 'vitest';
import type { Policy } from '../spec/schema.js';
import type { ContainerSpec } from './engine.js';
import { Sandbox } from './sandbox.js';
import { fakeContainer, fakeEngine } from './testing/fake-engine.js';

const POLICY = { network: 'none', readOnlyRootfs: true, tmpfs: ['/tmp'], user: '65534:65534', memoryBytes: 268435456, pids: 256, cpus: 1, timeoutMs: 60_000, loosened: [] } as unknown as Policy;

/**
 * An engine that records what it was asked and reads the container back through `edit`
 * (an engine that ignores or overrides fields); only the calls Sandbox.create makes.
 */
function recordingEngine(edit: (created: { HostConfig: Record<string, unknown>; User: string }) => void) {
  const calls: string[] = [];
  let created: ContainerSpec | undefined;
  const container = fakeContainer({
    inspect: async () => {
      const readback = { HostConfig: structuredClone(created!.HostConfig ?? {}), User: created!.User ?? '' };
      edit(readback);
      return { Id: 'fake0', HostConfig: readback.HostConfig, Config: { User: readback.User }, State: { Status: 'created', Running: false, Restarting: false, OOMKilled: false, ExitCode: 0, Error: '' }, NetworkSettings: { Networks: {} } };
    },
    remove: async (opts) => {
      calls.push(`remove ${JSON.stringify(opts)}`);
    },
    start: async () => {
      calls.push('start');
    },
  });
  const engine = fakeEngine({
    containers: {
      create: async (spec) => {
        created = spec;
        calls.push('create');
        return container;
      },
    },
  });
  return { engine, calls, created: () => created! };
}

const options = { runId: 'r1', cell: 'linux', image: 'airlock/busybox', policy: POLICY, env: {}, helper: hostHelper('/cas/helpers/busybox'), lifetimeMs: 60_000 };

describe('Sandbox.create', () => {
  it('creates the cell hardened by the rule table and keeps it when the engine applied all of it', async () => {
    const engine = recordingEngine(() => {});
    const sandbox = await Sandbox.create(engine.engine, options);
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
    const engine = recordingEngine(edit as (c: { HostConfig: Record<string, unknown>; User: string }) => void);
    const error = await Sandbox.create(engine.engine, options).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'POLICY_VIOLATION', message: expect.stringContaining(`${field}: expected`), details: { env: 'linux' } });
    // never started: removed with its volumes as soon as the read-back disagrees
    expect(engine.calls).toEqual(['create', 'remove {"force":true,"volumes":true}']);
  });
});
