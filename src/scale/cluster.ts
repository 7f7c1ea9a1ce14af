import { readFile } from 'node:fs/promises';
import type { Engine } from '../engine/engine.js';
import { hostHelper, type HelperMount } from '../engine/hardening.js';
import { ensureHelperVolume } from '../engine/helper-volume.js';
import { AirlockError } from '../errors.js';
import type { PlannedCell } from '../plan/plan.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { answers, type RunNode } from './nodes.js';
import { Placement, type Resources } from './placement.js';
import { ImageShipper } from './ship.js';

/** Where one cell runs: its engine, and how to make an image ready there. */
export interface CellNode {
  /** the node's name in a multi-engine run; absent on the one engine of a plain run */
  name?: string;
  engine: Engine;
  /** puts an image on this engine and checks its rootfs there (nothing to do on the building engine) */
  ship(image: ShipRequest): Promise<void>;
  /** whether the engine stopped answering: asked when a cell on it ended in an error */
  lost(): Promise<boolean>;
  /** how containers there mount the helper whose file is at `hostPath`; `image` is one the engine has */
  helperMount(hostPath: string, image: string): Promise<HelperMount>;
}

export interface ShipRequest {
  imageId: string;
  /** measured where it was built; undefined for a service image airlock did not build (measured there first) */
  rootfsDigest?: Digest;
}

/** What a run does with its engines: place each cell, hear of lost nodes, sweep them all at the end. */
export interface Cluster {
  /** how many cells may run at once by default */
  readonly parallel: number;
  /** every engine the run may have touched, for the final sweep */
  readonly engines: Engine[];
  place(cell: PlannedCell, opts: { exclude: ReadonlySet<string>; signal: AbortSignal }): Promise<{ node: CellNode; release(): void }>;
  markLost(name: string): void;
}

/** The one engine of a plain run: every cell on it, nothing to ship. */
export function singleEngine(engine: Engine, parallel: number): Cluster {
  const node: CellNode = { engine, ship: async () => undefined, lost: async () => false, helperMount: async (hostPath) => hostHelper(hostPath) };
  return { parallel, engines: [engine], place: async () => ({ node, release: () => undefined }), markLost: () => undefined };
}

export interface Shipment {
  node: string;
  imageId: string;
  rootfsDigest: Digest;
  transferred: boolean;
  durationMs: number;
}

/**
 * Several engines: a cell goes where its limits (and its services') fit (placement.ts); the
 * images it needs follow it from the building engine (ship.ts), each shipment reported once.
 */
export function multiEngine(nodes: readonly RunNode[], opts: { source: Engine; runId: string; onShipped: (s: Shipment) => void }): Cluster {
  const shipper = new ImageShipper(opts.source, opts.runId);
  // the helper's bytes, read once for every node that needs its own copy
  let helper: Promise<{ bytes: Buffer; digest: Digest }> | undefined;
  const cellNode = (n: RunNode): CellNode => {
    let volume: Promise<HelperMount> | undefined;
    return {
      name: n.facts.name,
      engine: n.engine,
      ship: async (image) => {
        const started = performance.now();
        const done = await shipper.ensure(n.engine, image);
        if (done.first) opts.onShipped({ node: n.facts.name, imageId: image.imageId, rootfsDigest: done.rootfsDigest, transferred: done.transferred, durationMs: Math.round(performance.now() - started) });
      },
      lost: async () => !(await answers(n.engine)),
      // a node may be another machine: it gets the helper as a volume of its own, filled once per run
      helperMount: (hostPath, image) => {
        if (n.engine.endpoint === opts.source.endpoint) return Promise.resolve(hostHelper(hostPath));
        helper ??= readFile(hostPath).then((bytes) => ({ bytes, digest: sha256Digest(bytes) }));
        // needs only an image on the node, not its measurement: it runs while the rootfs is measured
        volume ??= Promise.all([helper, shipper.present(n.engine, image)]).then(([h]) => ensureHelperVolume(n.engine, h, image, opts.runId));
        volume.catch(() => (volume = undefined));
        return volume;
      },
    };
  };
  const placement = new Placement(nodes.map((n) => ({ node: cellNode(n), name: n.facts.name, capacity: n.facts.capacity })));
  const engines = [opts.source, ...nodes.map((n) => n.engine).filter((e) => e.endpoint !== opts.source.endpoint)];
  return {
    // each node runs as many cells as its CPUs hold at their default limit of one CPU
    parallel: Math.max(1, Math.floor(nodes.reduce((sum, n) => sum + n.facts.capacity.cpus, 0))),
    engines,
    place: async (cell, { exclude, signal }) => {
      return placement.place(needsOf(cell), { exclude, signal });
    },
    markLost: (name) => placement.markLost(name),
  };
}

/** What a cell holds on its node while it runs: its own limits plus its services'. */
export function needsOf(cell: PlannedCell): Resources {
  const all = [cell.spec.policy, ...cell.spec.services.map((s) => s.policy)];
  return { cpus: all.reduce((n, p) => n + p.cpus, 0), memoryBytes: all.reduce((n, p) => n + p.memoryBytes, 0) };
}

/** The error a cell's attempt ends with when its node stopped answering; the run tries it once more elsewhere. */
export function nodeLost(node: string, cause: unknown): AirlockError {
  return new AirlockError('ENGINE_UNAVAILABLE', `engine ${node} stopped answering during the cell`, { cause, details: { node, lost: true } });
}

export function isNodeLost(e: AirlockError): boolean {
  return e.code === 'ENGINE_UNAVAILABLE' && e.details?.lost === true;
}


