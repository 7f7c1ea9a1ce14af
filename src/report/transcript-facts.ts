import { posix } from 'node:path';
import type { BlobRef } from '../proof/blob-reader.js';
import type { TranscriptEvent } from '../proof/transcript.js';
import { parseEvent, type TypedEvent } from '../proof/transcript-events.js';
import type { Digest } from '../util/digest.js';
import { containerEnforcement, vmEnforcement } from './enforcement.js';
import type { ReportEnforcement, ReportOutputEntry } from './types.js';

/** What the page shows of a cell beyond its steps, as the signed transcript records it. */
export interface CellFacts {
  image?: { variant: string; rootfsDigest?: Digest };
  enforcement?: ReportEnforcement;
  /** output entries; regular files carry their blob (no link yet: the writer decides that) */
  outputs: (Omit<ReportOutputEntry, 'blob'> & { blob?: BlobRef })[];
}

export interface TranscriptFacts {
  cells: Map<string, CellFacts>;
  bases: { ref: string; rootfsDigest: Digest | null; sbom?: BlobRef }[];
  /** events the page could not read by their phase's schema (a bundle that did not verify may hold them) */
  unreadable: number;
}

/**
 * Reads per-cell facts from a transcript's events with the transcript's own schemas:
 * the image each cell ran in, its sandbox as read back (`container` with its `service`
 * events, or `vm`), what its output paths held, and the bases of the run's images.
 * An event that does not parse is counted and skipped: the page still shows the rest.
 */
export function transcriptFacts(events: readonly TranscriptEvent[]): TranscriptFacts {
  const cells = new Map<string, CellFacts>();
  const facts = (id: string) => {
    let f = cells.get(id);
    if (!f) cells.set(id, (f = { outputs: [] }));
    return f;
  };
  const rootfs = new Map<string, Digest>();
  const services = new Map<string, TypedEvent<'service'>[]>();
  const containers: TypedEvent<'container'>[] = [];
  const outputEvents = new Map<string, CellFacts['outputs']>();
  const bases: TranscriptFacts['bases'] = [];
  let unreadable = 0;
  for (const raw of events) {
    let e: TypedEvent;
    try {
      e = parseEvent(raw);
    } catch {
      unreadable++;
      continue;
    }
    switch (e.phase) {
      case 'inputs':
        for (const b of e.data.bases) bases.push({ ref: b.ref, rootfsDigest: b.rootfsDigest, ...(b.sbom ? { sbom: b.sbom } : {}) });
        break;
      case 'image':
        rootfs.set(e.data.variant, e.data.rootfsDigest);
        break;
      case 'service':
        services.set(e.data.cell, [...(services.get(e.data.cell) ?? []), e]);
        break;
      case 'container':
        containers.push(e);
        break;
      case 'vm':
        facts(e.data.env).enforcement = vmEnforcement(e);
        break;
      case 'output':
        if ('entries' in e.data) outputEvents.set(e.data.env, [...(outputEvents.get(e.data.env) ?? []), ...entries(e.data.path, e.data.entries)]);
        break;
      case 'cell': {
        const d = e.data;
        const f = facts(d.cell);
        if (d.state === 'started') f.image = { variant: d.image };
        else if ('outputs' in d) f.outputs = d.outputs.flatMap((o) => entries(o.path, o.entries));
        break;
      }
      default:
        break;
    }
  }
  // services are read back before or after their cell's container: join them at the end
  for (const c of containers) facts(c.data.env).enforcement = containerEnforcement(c, services.get(c.data.env));
  for (const [id, f] of cells) {
    if (f.image) {
      const digest = rootfs.get(f.image.variant);
      if (digest) f.image.rootfsDigest = digest;
    }
    // a cell that ended before its finished event could list outputs still has its output events
    if (f.outputs.length === 0) f.outputs = outputEvents.get(id) ?? [];
  }
  return { cells, bases, unreadable };
}

type Entry = { path: string; type: ReportOutputEntry['type']; size: number; digest?: Digest | undefined; target?: string | undefined };

function entries(outputPath: string, list: readonly Entry[]): CellFacts['outputs'] {
  return list.map((x) => ({
    path: posix.join(outputPath, x.path),
    type: x.type,
    size: x.size,
    ...(x.type === 'file' && x.digest ? { blob: { digest: x.digest, size: x.size } } : {}),
    ...(x.target !== undefined ? { target: x.target } : {}),
  }));
}
