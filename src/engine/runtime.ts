import { AirlockError } from '../errors.js';
import type { Isolation } from '../spec/types.js';
import { engineProduct } from './client.js';
import type { Engine } from './engine.js';

/** The engine runtime a cell runs under, as the engine reports it. */
export interface RuntimeInfo {
  name: string;
  path: string | null;
  version: string | null;
}

const GVISOR_HELP =
  "install Debian's runsc (apt-get install runsc) and run `bash scripts/ensure-engine.sh`, which registers it in the engine's daemon.json with runtimeArgs --network=none --ignore-cgroups";

const PODMAN_GVISOR =
  "isolation: gvisor cannot run on Podman through its Docker-compatible API: it ignores a container's HostConfig.Runtime (every container runs under Podman's configured OCI runtime) and reads back `oci`, so runsc could be neither chosen nor checked; run gvisor cells on a Docker engine with runsc registered";

/**
 * The runtime for an isolation level. gvisor requires `runsc` registered in the
 * engine: when it is not, the cell fails saying how to get it, and never falls
 * back to runc silently. Podman lists runsc among its runtimes whether it is
 * installed or not and cannot be asked for it per container, so gvisor is refused there.
 */
export async function runtimeFor(engine: Engine, isolation: Isolation): Promise<RuntimeInfo | undefined> {
  if (isolation !== 'gvisor') return undefined;
  if ((await engineProduct(engine)) === 'podman') throw new AirlockError('RUNTIME_UNAVAILABLE', PODMAN_GVISOR, { details: { product: 'podman' } });
  const info = await engine.system.info();
  const runsc = info.Runtimes?.runsc;
  if (!runsc) {
    throw new AirlockError('RUNTIME_UNAVAILABLE', `isolation: gvisor needs the runsc runtime, which the engine does not have; ${GVISOR_HELP}`, {
      details: { runtimes: Object.keys(info.Runtimes ?? {}) },
    });
  }
  const path = runsc.path ?? 'runsc';
  // The version comes from the binary the engine runs; an engine on another host may not expose it.
  const { execa } = await import('execa');
  const version = await execa(path, ['--version'], { reject: false, timeout: 5_000 }).then((r) => (r.exitCode === 0 ? r.stdout.split('\n')[0]!.trim() : null));
  return { name: 'runsc', path, version };
}
