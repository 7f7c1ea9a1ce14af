import { connectEndpoint, engineInfo, type EngineInfo } from '../engine/client.js';
import type { Engine } from '../engine/engine.js';
import { toAirlockError, type AirlockError } from '../errors.js';
import type { NodeEndpoint } from './engine-list.js';
import type { Resources } from './placement.js';

/**
 * One engine of a multi-engine run, as the transcript names it: airlock's own node name (several
 * engines on one host report the same engine ID and host name), the address, and what the
 * engine says of itself.
 */
export interface NodeFacts {
  name: string;
  endpoint: string;
  engine: EngineInfo & { id: string; hostname: string };
  capacity: Resources;
}

export interface RunNode {
  facts: NodeFacts;
  engine: Engine;
}

export interface UnreachableNode {
  name: string;
  endpoint: string;
  error: AirlockError;
}

/**
 * Connects to every listed engine at once; one that does not answer within `timeoutMs` is
 * reported (and left out of the run), never fatal on its own. Capacity is what the engine
 * says it has: its CPUs and memory, which its cells' limits are placed against.
 */
export async function connectNodes(list: readonly NodeEndpoint[], { timeoutMs = 10_000 } = {}): Promise<{ nodes: RunNode[]; unreachable: UnreachableNode[] }> {
  const tried = await Promise.all(
    list.map(async ({ name, endpoint }) => {
      try {
        const engine = connectEndpoint(endpoint, name);
        const [info, system] = await Promise.all([engineInfo(engine, timeoutMs), engine.system.info()]);
        const facts: NodeFacts = {
          name,
          endpoint: endpoint.host,
          engine: { ...info, id: String(system.ID ?? ''), hostname: String(system.Name ?? '') },
          capacity: { cpus: Number(system.NCPU ?? 1), memoryBytes: Number(system.MemTotal ?? 0) },
        };
        return { node: { facts, engine } };
      } catch (e) {
        return { unreachable: { name, endpoint: endpoint.host, error: toAirlockError(e) } };
      }
    }),
  );
  return {
    nodes: tried.flatMap((t) => ('node' in t && t.node ? [t.node] : [])),
    unreachable: tried.flatMap((t) => ('unreachable' in t && t.unreachable ? [t.unreachable] : [])),
  };
}

/** Whether a node still answers: asked when a cell on it ended in an error, to tell a lost engine from a failing cell. */
export async function answers(engine: Engine, timeoutMs = 3_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      engine.system.version(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
