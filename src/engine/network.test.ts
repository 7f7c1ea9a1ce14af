import { describe, expect, it } from 'vitest';
import type { NetworkSpec } from './engine.js';
import { LABEL_RUN } from './labels.js';
import { cellNetworkName, createCellNetwork, networkProblems, removeNetwork } from './network.js';
import { fakeEngine } from './testing/fake-engine.js';

const labels = { [LABEL_RUN]: 'r1', 'dev.airlock.cell': 'app' };

describe('cellNetworkName', () => {
  it('names the run and cell, with only characters the engine accepts', () => {
    expect(cellNetworkName('20250101T000000Z-ab12cd34', 'api tests/py3.12')).toBe('airlock-20250101T000000Z-ab12cd34-api-tests-py3.12');
  });
});

describe('networkProblems', () => {
  it('accepts an internal, labelled bridge', () => {
    expect(networkProblems({ Internal: true, Driver: 'bridge', IPAM: {}, Labels: labels }, 'r1', 'app')).toEqual([]);
  });

  it('refuses a network with egress, another driver or missing labels, naming each', () => {
    const problems = networkProblems({ Internal: false, Driver: 'macvlan', IPAM: {}, Labels: {} }, 'r1', 'app');
    expect(problems).toHaveLength(3);
    expect(problems[0]).toBe('Internal: expected true, engine reports false');
  });
});

/** An engine that creates what it is asked, except that it reports `Internal` as `internal`. */
function networkEngine(internal: boolean) {
  const removed: string[] = [];
  let created: NetworkSpec | undefined;
  const engine = fakeEngine({
    networks: {
      create: async (spec) => {
        created = spec;
        return 'n1';
      },
      inspect: async (id) => ({ Id: id, Name: created!.Name, Driver: 'bridge', Internal: internal, IPAM: { Config: [] }, Labels: created!.Labels }),
      remove: async (id) => {
        if (removed.includes(id)) throw Object.assign(new Error('no such network'), { statusCode: 404 });
        removed.push(id);
      },
    },
  });
  return { engine, removed };
}

describe('createCellNetwork', () => {
  it('returns the read-back of an internal network', async () => {
    const { engine } = networkEngine(true);
    const net = await createCellNetwork(engine, { runId: 'r1', cell: 'app' });
    expect(net).toMatchObject({ id: 'n1', name: 'airlock-r1-app', readback: { Internal: true, Driver: 'bridge', Labels: labels } });
  });

  it('removes and refuses a network the engine did not make internal', async () => {
    const { engine, removed } = networkEngine(false);
    await expect(createCellNetwork(engine, { runId: 'r1', cell: 'app' })).rejects.toMatchObject({ code: 'POLICY_VIOLATION' });
    expect(removed).toEqual(['n1']);
  });

  it('removeNetwork tolerates a network already gone', async () => {
    const { engine } = networkEngine(true);
    await removeNetwork(engine, 'n1');
    await expect(removeNetwork(engine, 'n1')).resolves.toBeUndefined();
  });
});
