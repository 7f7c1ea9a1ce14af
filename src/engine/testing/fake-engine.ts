import type { ContainerClient, Engine, EngineContainer, ImageClient, NetworkClient, SystemClient, VolumeClient } from '../engine.js';

export interface FakeAreas {
  system?: Partial<SystemClient>;
  images?: Partial<ImageClient>;
  containers?: Partial<ContainerClient>;
  networks?: Partial<NetworkClient>;
  volumes?: Partial<VolumeClient>;
}

/**
 * An Engine for unit tests: the calls a test fakes, typed as the interface has them;
 * any other call rejects naming itself, so a test never passes by an unfaked call.
 */
export function fakeEngine(areas: FakeAreas = {}, name = 'fake engine'): Engine {
  return {
    endpoint: 'unix:///fake.sock',
    name,
    system: faked('system', areas.system),
    images: faked('images', areas.images),
    containers: faked('containers', areas.containers),
    networks: faked('networks', areas.networks),
    volumes: faked('volumes', areas.volumes),
  };
}

/** A container handle with the calls a test fakes (id `fake0` unless given). */
export function fakeContainer(calls: Partial<EngineContainer>): EngineContainer {
  return faked('container', { id: 'fake0', ...calls });
}

function faked<T extends object>(area: string, given: Partial<T> = {}): T {
  const notFaked = (key: string) => () => Promise.reject(new Error(`fake engine: ${area}.${key} is not faked`));
  // the Proxy answers every method the interface has; only the cast says so to the compiler.
  // `then` stays undefined, or awaiting a handle would call it.
  return new Proxy(given, {
    get: (target, key) => (key in target || typeof key === 'symbol' || key === 'then' ? Reflect.get(target, key) : notFaked(key)),
  }) as T;
}
