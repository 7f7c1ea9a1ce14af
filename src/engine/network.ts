import { AirlockError } from '../errors.js';
import { isNotFound } from './client.js';
import type { Engine, NetworkDetails } from './engine.js';
import { LABEL_RUN, runLabels } from './labels.js';

/** On a cell's network and its service containers: the environment (cell) they belong to. */
export const LABEL_CELL = 'dev.airlock.cell';

export interface CellNetworkReadback {
  Internal: boolean;
  Driver: string;
  IPAM: unknown;
  Labels: Record<string, string>;
}

export interface CellNetwork {
  id: string;
  name: string;
  /** what the engine reported after creating it (the transcript records this) */
  readback: CellNetworkReadback;
}

/** `airlock-<run>-<cell>`, reduced to the characters the engine accepts in a network name. */
export function cellNetworkName(runId: string, cell: string): string {
  return `airlock-${runId}-${cell}`.replace(/[^a-zA-Z0-9_.-]+/g, '-').slice(0, 200);
}

/** Why a read-back network may not carry a cell's services: anything but an internal bridge with our labels. */
export function networkProblems(got: CellNetworkReadback, runId: string, cell: string): string[] {
  const problems: string[] = [];
  if (got.Internal !== true) problems.push(`Internal: expected true, engine reports ${JSON.stringify(got.Internal ?? null)}`);
  if (got.Driver !== 'bridge') problems.push(`Driver: expected "bridge", engine reports ${JSON.stringify(got.Driver ?? null)}`);
  if (got.Labels[LABEL_RUN] !== runId || got.Labels[LABEL_CELL] !== cell) {
    problems.push(`Labels: expected ${LABEL_RUN}=${runId} and ${LABEL_CELL}=${cell}, engine reports ${JSON.stringify(got.Labels)}`);
  }
  return problems;
}

/**
 * A user-defined bridge for one cell and its services, created Internal (no
 * route out: no egress, no published ports), labelled for cleanup, and read
 * back: a network the engine did not make internal is removed and refused.
 */
export async function createCellNetwork(engine: Engine, { runId, cell }: { runId: string; cell: string }): Promise<CellNetwork> {
  const name = cellNetworkName(runId, cell);
  let id: string;
  try {
    id = await engine.networks.create({
      Name: name,
      Driver: 'bridge',
      Internal: true,
      Attachable: false,
      EnableIPv6: false,
      CheckDuplicate: true,
      Labels: { ...runLabels(runId, 'service'), [LABEL_CELL]: cell },
    });
  } catch (e) {
    throw new AirlockError('ENGINE_ERROR', `could not create the network ${name} for environment ${cell}: ${(e as Error).message}`, {
      cause: e,
      details: { network: name, env: cell },
    });
  }
  let info: NetworkDetails;
  try {
    info = await engine.networks.inspect(id);
  } catch (e) {
    await removeNetwork(engine, id).catch(() => undefined);
    throw new AirlockError('ENGINE_ERROR', `could not read back the network ${name}: ${(e as Error).message}`, { cause: e, details: { network: name, env: cell } });
  }
  const readback: CellNetworkReadback = { Internal: info.Internal, Driver: info.Driver, IPAM: info.IPAM ?? null, Labels: info.Labels ?? {} };
  const problems = networkProblems(readback, runId, cell);
  if (problems.length > 0) {
    await removeNetwork(engine, info.Id).catch(() => undefined);
    throw new AirlockError('POLICY_VIOLATION', `the engine did not create network ${name} as asked:\n  ${problems.join('\n  ')}`, {
      details: { env: cell, network: name, problems, readback },
    });
  }
  return { id: info.Id, name: info.Name, readback };
}

/** Removes the network; one already gone is fine. Containers still attached make it fail (remove them first). */
export async function removeNetwork(engine: Engine, id: string): Promise<void> {
  try {
    await engine.networks.remove(id);
  } catch (e) {
    if (isNotFound(e)) return;
    throw new AirlockError('ENGINE_ERROR', `could not remove network ${id}: ${(e as Error).message}`, { cause: e, details: { network: id } });
  }
}
