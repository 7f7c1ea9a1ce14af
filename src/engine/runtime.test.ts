import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EngineVersion } from './engine.js';
import { runtimeFor } from './runtime.js';
import { fakeEngine } from './testing/fake-engine.js';

const version = (components: string[]): EngineVersion => ({ Version: '1', ApiVersion: '1.41', Os: 'linux', Arch: 'amd64', KernelVersion: '6', Components: components.map((Name) => ({ Name })) });
const DOCKER = version(['Engine']);
const PODMAN = version(['Podman Engine', 'Conmon', 'OCI Runtime (runc)']);
const engineWith = (runtimes: Record<string, { path?: string }>, v = DOCKER) => fakeEngine({ system: { info: async () => ({ Runtimes: runtimes }), version: async () => v } });

describe('runtimeFor', () => {
  it('uses the engine default for container isolation', async () => {
    expect(await runtimeFor(engineWith({}), 'container')).toBeUndefined();
  });

  it('refuses gvisor when runsc is not registered, saying how to get it (never falls back to runc)', async () => {
    const error = await runtimeFor(engineWith({ runc: { path: 'runc' } }), 'gvisor').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RUNTIME_UNAVAILABLE' });
    expect((error as Error).message).toContain('apt-get install runsc');
    expect((error as Error).message).toContain('--network=none --ignore-cgroups');
  });

  it('refuses gvisor on Podman, which lists runsc but cannot run a container under it through this API', async () => {
    const error = await runtimeFor(engineWith({ runsc: { path: '/usr/bin/runsc' }, runc: { path: '/usr/bin/runc' } }, PODMAN), 'gvisor').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RUNTIME_UNAVAILABLE', details: { product: 'podman' } });
    expect((error as Error).message).toContain('HostConfig.Runtime');
    expect(await runtimeFor(engineWith({}, PODMAN), 'container')).toBeUndefined();
  });

  it('names runsc and reads its version from the registered binary', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'runsc-'));
    const fake = join(dir, 'runsc');
    await writeFile(fake, '#!/bin/sh\necho "runsc version 9.9 (for $1)"\necho "spec: 1.0"\n', { mode: 0o755 });
    const info = await runtimeFor(engineWith({ runsc: { path: fake } }), 'gvisor');
    expect(info).toEqual({ name: 'runsc', path: fake, version: 'runsc version 9.9 (for --version)' });
  });
});
