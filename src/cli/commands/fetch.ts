import { mkdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { AirlockError } from '../../errors.js';
import {
  fetchInputs,
  INPUTS_LOCK_FILE,
  lockInputs,
  readInputsLock,
  serializeInputsLock,
  writeInputsLock,
  type FetchedInput,
  type FetchProgress,
  type InputsLock,
  type InputSpec,
} from '../../fetch/index.js';
import { workspacePaths } from '../../run/workspace-paths.js';
import { loadSpec } from '../../spec/load.js';
import type { LoadedSpec } from '../../spec/types.js';
import { Cas } from '../../store/cas.js';
import type { Body, CommandContext, Values } from '../command.js';
import { withInterrupts } from '../interrupts.js';
import type { FETCH_OPTIONS } from '../usage/fetch.js';

/** The spec's `inputs:` (typed loosely, so this reads specs from before the key existed). */
function specInputs(loaded: LoadedSpec): InputSpec[] {
  return (loaded.spec as { inputs?: InputSpec[] }).inputs ?? [];
}

interface Fetched {
  loaded: LoadedSpec;
  lockFile: string;
  lock: InputsLock;
  fetched: FetchedInput[];
}

type Ctx = CommandContext<Values<typeof FETCH_OPTIONS>>;

async function fetchAll(ctx: Ctx, frozen: boolean): Promise<Fetched> {
  const loaded = await loadSpec(ctx.specFile());
  const { artifactsDir, locksDir } = workspacePaths(ctx.root);
  const lockFile = join(locksDir, INPUTS_LOCK_FILE);
  const lock = await readInputsLock(lockFile);
  const cas = await Cas.open(artifactsDir);
  const fetched = await withInterrupts((signal) =>
    fetchInputs(specInputs(loaded), {
      cas,
      lock,
      frozen,
      offline: ctx.values.offline === true,
      signal,
      onProgress: (p) => progress(ctx, p),
    }),
  );
  return { loaded, lockFile, lock, fetched };
}

function progress(ctx: Ctx, p: FetchProgress): void {
  // byte counts are too many for a log; the rest is what a reader follows
  if (p.kind === 'bytes') return;
  ctx.reporter.event({ type: 'fetch', ...p });
  if (p.kind === 'done') ctx.reporter.info(`  ${p.source === 'cache' ? 'cached ' : 'fetched'} ${p.name} ${p.digest.slice(0, 19)} (${p.size} bytes)`);
  if (p.kind === 'retry') ctx.reporter.info(`  retry  ${p.name} attempt ${p.attempt} in ${p.delayMs} ms: ${p.reason}`);
}

function lines(fetched: readonly FetchedInput[]): string[] {
  return fetched.map((f) => `${f.name}  ${f.digest}  ${f.size} bytes  (${f.source === 'cache' ? 'already in the CAS' : `downloaded from ${f.finalUrl}`})`);
}

export const fetchBody: Body<typeof FETCH_OPTIONS> = async (ctx) => {
  const frozen = ctx.values.frozen === true;
  const { lockFile, lock, fetched } = await fetchAll(ctx, frozen);
  let written = false;
  if (!frozen) {
    const next = lockInputs(lock, fetched, { keepOthers: true });
    if (serializeInputsLock(next) !== serializeInputsLock(lock)) {
      await mkdir(dirname(lockFile), { recursive: true });
      await writeInputsLock(lockFile, next);
      written = true;
    }
  }
  ctx.result({ inputs: fetched, lock: { path: lockFile, written } }, [
    ...lines(fetched),
    `${fetched.length} input${fetched.length === 1 ? '' : 's'} in the CAS${written ? `; learned pins written to ${relative(process.cwd(), lockFile) || lockFile}` : ''}`,
  ]);
  return 0;
};

export const lockBody: Body<typeof FETCH_OPTIONS> = async (ctx) => {
  const frozen = ctx.values.frozen === true;
  const { lockFile, lock, fetched } = await fetchAll(ctx, frozen);
  const next = lockInputs(lock, fetched);
  const changes = lockChanges(lock, next);
  if (frozen && changes.length > 0) {
    throw new AirlockError('FETCH_NOT_PINNED', `frozen: ${INPUTS_LOCK_FILE} is not up to date with the spec: ${changes.join('; ')}; run \`airlock lock\``, {
      details: { lock: lockFile, changes },
    });
  }
  const written = !frozen && serializeInputsLock(next) !== serializeInputsLock(lock);
  if (written) {
    await mkdir(dirname(lockFile), { recursive: true });
    await writeInputsLock(lockFile, next);
  }
  ctx.result({ inputs: fetched, lock: { path: lockFile, written, changes } }, [
    ...lines(fetched),
    ...changes.map((c) => `  ${c}`),
    written ? `wrote ${relative(process.cwd(), lockFile) || lockFile}` : `${relative(process.cwd(), lockFile) || lockFile} is up to date`,
  ]);
  return 0;
};

/** What writing `next` over `prev` would change, one phrase per input. */
function lockChanges(prev: InputsLock, next: InputsLock): string[] {
  const out: string[] = [];
  for (const [name, e] of Object.entries(next.inputs)) {
    const old = prev.inputs[name];
    if (!old) out.push(`${name}: added (sha256 ${e.sha256})`);
    else if (old.sha256 !== e.sha256 || old.url !== e.url || old.size !== e.size) out.push(`${name}: ${old.url === e.url ? '' : `url ${old.url} → ${e.url}, `}sha256 ${old.sha256} → ${e.sha256}`);
  }
  for (const name of Object.keys(prev.inputs)) if (!(name in next.inputs)) out.push(`${name}: removed (no longer in the spec)`);
  return out;
}
