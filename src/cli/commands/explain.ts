import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyChange } from '../../cache/explain.js';
import { AirlockError } from '../../errors.js';
import { parseCellSelector } from '../../plan/matrix.js';
import { parseTranscript, type TranscriptEvent } from '../../proof/transcript.js';
import { openWorkspace } from '../../run/workspace.js';
import type { Body } from '../command.js';

const REASONS: Record<string, string> = {
  'no-cache': 'the run was asked not to use the cache (--no-cache)',
  'first-run': 'no passing result of this cell was cached before (failed results are never cached)',
  'inputs-changed': 'its cache key changed',
  'blobs-missing': "the cached result's logs or outputs are no longer in the store",
};

/** Whether a cell event is about the cell the user named: its id, or a selector matching its matrix values. */
function matches(event: TranscriptEvent, query: string, started: Map<string, Record<string, unknown> | null>): boolean {
  const id = String(event.data.cell);
  if (id === query) return true;
  if (!query.includes('=')) return false;
  const values = started.get(id);
  if (!values) return false;
  return Object.entries(parseCellSelector(query)).every(([k, v]) => values[k] !== undefined && String(values[k]) === v);
}

export const explain: Body<Record<never, never>> = async (ctx) => {
  const [query, ...extra] = ctx.positionals;
  if (!query || extra.length > 0) throw new AirlockError('USAGE', 'airlock explain takes one cell (an id or axis=value,...)');
  const workspace = await openWorkspace(ctx.root);
  try {
    for (const run of workspace.ledger.listRuns(200)) {
      if (!run.bundleDir) continue;
      const text = await readFile(join(run.bundleDir, 'transcript.jsonl'), 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      const events = parseTranscript(text).filter((e) => e.phase === 'cell');
      const started = new Map(events.filter((e) => e.data.state === 'started').map((e) => [String(e.data.cell), (e.data.matrix ?? null) as Record<string, unknown> | null]));
      const found = events.find((e) => e.data.state === 'finished' && matches(e, query, started));
      if (!found) continue;
      const d = found.data as { cell: string; status: string; missReason?: string; keyChanges?: KeyChange[]; cachedFrom?: { runId: string }; key?: string };
      const base = { cell: d.cell, runId: run.id, status: d.status, key: d.key ?? null };
      if (d.status === 'cached') {
        ctx.result({ ...base, cached: true, cachedFrom: d.cachedFrom }, [`${d.cell} in run ${run.id}: served from the cache (signed record in run ${d.cachedFrom?.runId})`]);
        return 0;
      }
      const changes = d.keyChanges ?? [];
      const why = d.missReason ? REASONS[d.missReason] ?? d.missReason : `it ended ${d.status} before its key was known`;
      ctx.result({ ...base, cached: false, missReason: d.missReason ?? null, changes }, [
        `${d.cell} in run ${run.id}: ran (${d.status}) because ${why}`,
        ...changes.map((c) => `  ${c.detail ?? `${c.path}: ${JSON.stringify(c.old)} -> ${JSON.stringify(c.new)}`}`),
      ]);
      return 0;
    }
    throw new AirlockError('USAGE', `no run in this workspace has a cell matching "${query}"`);
  } finally {
    workspace.close();
  }
};
