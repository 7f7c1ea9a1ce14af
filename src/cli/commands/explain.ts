import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../../errors.js';
import { parseCellSelector } from '../../plan/matrix.js';
import { parseTranscript } from '../../proof/transcript.js';
import { eventsOf } from '../../proof/transcript-events.js';
import { openWorkspace } from '../../run/workspace.js';
import type { Body } from '../command.js';

const REASONS: Record<string, string> = {
  'no-cache': 'the run was asked not to use the cache (--no-cache)',
  'first-run': 'no passing result of this cell was cached before (failed results are never cached)',
  'inputs-changed': 'its cache key changed',
  'blobs-missing': "the cached result's logs or outputs are no longer in the store",
};

/** Whether a cell is the one the user named: its id, or a selector matching its matrix values. */
function matches(id: string, query: string, started: Map<string, Record<string, unknown> | null>): boolean {
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
      const events = eventsOf(parseTranscript(text), 'cell').map((e) => e.data);
      const started = new Map(events.flatMap((d) => (d.state === 'started' ? [[d.cell, d.matrix] as const] : [])));
      const d = events.find((e) => e.state === 'finished' && matches(e.cell, query, started));
      if (!d || d.state !== 'finished') continue;
      const base = { cell: d.cell, runId: run.id, status: d.status, key: 'key' in d ? d.key : null };
      if (d.status === 'cached') {
        ctx.result({ ...base, cached: true, cachedFrom: d.cachedFrom }, [`${d.cell} in run ${run.id}: served from the cache (signed record in run ${d.cachedFrom.runId})`]);
        return 0;
      }
      const changes = d.status === 'passed' || d.status === 'failed' ? d.keyChanges : [];
      const missReason = d.status === 'passed' || d.status === 'failed' ? d.missReason : null;
      const why = missReason ? REASONS[missReason] ?? missReason : `it ended ${d.status} before its key was known`;
      ctx.result({ ...base, cached: false, missReason, changes }, [
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
