import { describe, expect, it } from 'vitest';
import { Placement } from './placement.js';

const GiB = 2 ** 30;
const nodes = (...caps: [string, number, number][]) => new Placement(caps.map(([name, cpus, gib]) => ({ node: name, name, capacity: { cpus, memoryBytes: gib * GiB } })));
const cell = (cpus: number, gib = 0.5) => ({ cpus, memoryBytes: gib * GiB });

describe('Placement', () => {
  it('spreads cells over nodes, least loaded first', async () => {
    const p = nodes(['a', 2, 4], ['b', 2, 4], ['c', 2, 4]);
    const placed = await Promise.all([1, 2, 3].map(() => p.place(cell(1))));
    expect(placed.map((s) => s.node).sort()).toEqual(['a', 'b', 'c']);
  });

  it('waits while no node has room and starts the waiter when one is released', async () => {
    const p = nodes(['a', 2, 4]);
    const first = await p.place(cell(1.5));
    let second: string | undefined;
    const pending = p.place(cell(1)).then((s) => (second = s.node));
    await Promise.resolve();
    expect(second).toBeUndefined();
    first.release();
    await pending;
    expect(second).toBe('a');
  });

  it('counts memory as well as CPUs', async () => {
    const p = nodes(['a', 8, 1], ['b', 8, 4]);
    const s = await p.place(cell(0.5, 2));
    expect(s.node).toBe('b');
  });

  it('sums fractional CPUs without float drift', async () => {
    const p = nodes(['a', 0.3, 4]);
    await p.place(cell(0.1));
    await p.place(cell(0.2));
  });

  it('refuses at once a cell larger than every node', async () => {
    const p = nodes(['a', 2, 4], ['b', 4, 2]);
    await expect(p.place(cell(3, 3))).rejects.toMatchObject({ code: 'PLACEMENT_IMPOSSIBLE' });
  });

  it('keeps arrival order: a small cell does not overtake a waiting large one', async () => {
    const p = nodes(['a', 2, 4]);
    const held = await p.place(cell(1));
    const order: string[] = [];
    const large = p.place(cell(2)).then((s) => (order.push('large'), s));
    const small = p.place(cell(1)).then((s) => (order.push('small'), s));
    held.release();
    (await large).release();
    await small;
    expect(order).toEqual(['large', 'small']);
  });

  it('never places on an excluded or lost node, and refuses when none is left', async () => {
    const p = nodes(['a', 2, 4], ['b', 2, 4]);
    expect((await p.place(cell(1), { exclude: new Set(['a']) })).node).toBe('b');
    p.markLost('b');
    expect(p.live).toEqual(['a']);
    await expect(p.place(cell(1), { exclude: new Set(['a']) })).rejects.toMatchObject({ code: 'ENGINE_UNAVAILABLE' });
  });

  it('refuses a waiter whose only nodes are lost while it waits', async () => {
    const p = nodes(['a', 1, 4], ['b', 1, 4]);
    await p.place(cell(1), { exclude: new Set(['b']) });
    const waiting = p.place(cell(1), { exclude: new Set(['b']) });
    p.markLost('a');
    await expect(waiting).rejects.toMatchObject({ code: 'ENGINE_UNAVAILABLE' });
  });

  it('drops a waiter whose signal aborts', async () => {
    const p = nodes(['a', 1, 4]);
    await p.place(cell(1));
    const ac = new AbortController();
    const waiting = p.place(cell(1), { signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });

  it('a slot released twice frees its room once', async () => {
    const p = nodes(['a', 2, 4]);
    const s = await p.place(cell(1));
    s.release();
    s.release();
    await p.place(cell(2));
    let third = false;
    void p.place(cell(1)).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(false);
  });
});
