import { AirlockError } from '../errors.js';

/** What a node offers or a cell asks for: CPUs (fractions allowed) and memory in bytes. */
export interface Resources {
  cpus: number;
  memoryBytes: number;
}

/** A node's share of the run: where one cell runs until it releases it. */
export interface Slot<N> {
  node: N;
  release(): void;
}

interface Seat<N> {
  node: N;
  name: string;
  capacity: Resources;
  used: Resources;
  lost: boolean;
}

interface Waiter<N> {
  needs: Resources;
  exclude: ReadonlySet<string>;
  resolve(slot: Slot<N>): void;
  reject(e: unknown): void;
}

/**
 * Places cells on nodes by their limits: a cell goes to a node whose free CPUs and
 * memory cover its own (a cell plus its services), the one left least loaded by it,
 * and waits, in arrival order, while none has room. Limits are what the engine
 * enforces on every container, so a node never holds more than it can run at once.
 * A cell larger than every node on its own is refused at once instead of waiting forever.
 */
export class Placement<N> {
  readonly #seats: Seat<N>[];
  readonly #waiting: Waiter<N>[] = [];

  constructor(nodes: { node: N; name: string; capacity: Resources }[]) {
    this.#seats = nodes.map((n) => ({ ...n, used: { cpus: 0, memoryBytes: 0 }, lost: false }));
  }

  /** A slot on a node with room for `needs`, never on one named in `exclude` (a node the cell was lost on). */
  place(needs: Resources, { exclude = new Set<string>(), signal }: { exclude?: ReadonlySet<string>; signal?: AbortSignal } = {}): Promise<Slot<N>> {
    signal?.throwIfAborted();
    const unfit = this.#neverFits(needs, exclude);
    if (unfit) return Promise.reject(unfit);
    if (this.#waiting.length === 0) {
      const slot = this.#take(needs, exclude);
      if (slot) return Promise.resolve(slot);
    }
    return new Promise<Slot<N>>((resolve, reject) => {
      const waiter: Waiter<N> = { needs, exclude, resolve, reject };
      this.#waiting.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.#waiting.indexOf(waiter);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** A node that stopped answering: nothing more goes there; waiters that now fit nowhere are refused. */
  markLost(name: string): void {
    for (const s of this.#seats) if (s.name === name) s.lost = true;
    for (const w of [...this.#waiting]) {
      const unfit = this.#neverFits(w.needs, w.exclude);
      if (unfit) {
        this.#waiting.splice(this.#waiting.indexOf(w), 1);
        w.reject(unfit);
      }
    }
  }

  /** Nodes still taking cells. */
  get live(): N[] {
    return this.#seats.filter((s) => !s.lost).map((s) => s.node);
  }

  #neverFits(needs: Resources, exclude: ReadonlySet<string>): AirlockError | undefined {
    const candidates = this.#seats.filter((s) => !s.lost && !exclude.has(s.name));
    if (candidates.length === 0) {
      return new AirlockError('ENGINE_UNAVAILABLE', `no engine is left to run the cell on (${this.#seats.map((s) => `${s.name}${s.lost ? ' lost' : ' excluded'}`).join(', ')})`);
    }
    if (candidates.some((s) => fits(needs, s.capacity))) return undefined;
    return new AirlockError(
      'PLACEMENT_IMPOSSIBLE',
      `a cell needs ${describe(needs)} but the largest engine offers ${candidates.map((s) => `${s.name}: ${describe(s.capacity)}`).join('; ')}; lower its limits or add a larger engine`,
      { details: { needs, engines: candidates.map((s) => ({ name: s.name, ...s.capacity })) } },
    );
  }

  #take(needs: Resources, exclude: ReadonlySet<string>): Slot<N> | undefined {
    let best: Seat<N> | undefined;
    let bestLoad = Infinity;
    for (const s of this.#seats) {
      if (s.lost || exclude.has(s.name)) continue;
      const after = { cpus: s.used.cpus + needs.cpus, memoryBytes: s.used.memoryBytes + needs.memoryBytes };
      if (!fits(after, s.capacity)) continue;
      const load = Math.max(after.cpus / s.capacity.cpus, after.memoryBytes / s.capacity.memoryBytes);
      if (load < bestLoad) [best, bestLoad] = [s, load];
    }
    if (!best) return undefined;
    const seat = best;
    seat.used = { cpus: seat.used.cpus + needs.cpus, memoryBytes: seat.used.memoryBytes + needs.memoryBytes };
    let released = false;
    return {
      node: seat.node,
      release: () => {
        if (released) return;
        released = true;
        seat.used = { cpus: seat.used.cpus - needs.cpus, memoryBytes: seat.used.memoryBytes - needs.memoryBytes };
        this.#wake();
      },
    };
  }

  /** Serves waiters in arrival order; the first that still does not fit holds the rest (no overtaking). */
  #wake(): void {
    while (this.#waiting.length > 0) {
      const w = this.#waiting[0]!;
      const slot = this.#take(w.needs, w.exclude);
      if (!slot) return;
      this.#waiting.shift();
      w.resolve(slot);
    }
  }
}

// Float sums of fractional CPUs (0.1 + 0.2) must not refuse a cell that fits exactly.
const EPSILON = 1e-9;
const fits = (needs: Resources, capacity: Resources) => needs.cpus <= capacity.cpus + EPSILON && needs.memoryBytes <= capacity.memoryBytes;

const describe = (r: Resources) => `${r.cpus} CPUs and ${(r.memoryBytes / 2 ** 20).toFixed(0)} MiB`;
