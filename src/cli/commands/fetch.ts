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
import { workspacePaths, workspaceRoot } from '../../run/workspace.js';
import { loadSpec } from '../../spec/load.js';
import type { LoadedSpec } from '../../spec/types.js';
import { Cas } from '../../store/cas.js';
import { defineCommand, type CommandContext } from '../command.js';
import { withInterrupts } from '../interrupts.js';

const FLAGS = `  --spec FILE  the spec (default ./airlock.yaml)
  --root DIR   workspace holding artifacts/ (the CAS) and locks/
  --offline    never touch the network: every input must be pinned and already in the CAS
  --json       one JSON event per line, then the result`;

const OPTIONS = {
  spec: { type: 'string' },
  root: { type: 'string' },
  frozen: { type: 'boolean', default: false },
  offline: { type: 'boolean', default: false },
} as const;

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

async function fetchAll(ctx: CommandContext<Record<keyof typeof OPTIONS | 'json' | 'help', unknown>>, frozen: boolean): Promise<Fetched> {
  const loaded = await loadSpec((ctx.values.spec as string | undefined) ?? 'airlock.yaml');
  const { artifactsDir, locksDir } = workspacePaths(workspaceRoot(ctx.values.root as string | undefined));
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

function progress(ctx: CommandContext<unknown>, p: FetchProgress): void {
  // byte counts are too many for a log; the rest is what a reader follows
  if (p.kind === 'bytes') return;
  ctx.reporter.event({ type: 'fetch', ...p });
  if (p.kind === 'done') ctx.reporter.info(`  ${p.source === 'cache' ? 'cached ' : 'fetched'} ${p.name} ${p.digest.slice(0, 19)} (${p.size} bytes)`);
  if (p.kind === 'retry') ctx.reporter.info(`  retry  ${p.name} attempt ${p.attempt} in ${p.delayMs} ms: ${p.reason}`);
}

function lines(fetched: readonly FetchedInput[]): string[] {
  return fetched.map((f) => `${f.name}  ${f.digest}  ${f.size} bytes  (${f.source === 'cache' ? 'already in the CAS' : `downloaded from ${f.finalUrl}`})`);
}

export const fetchCommand = defineCommand({
  name: 'fetch',
  summary: "download the spec's inputs, pinned by sha256, into the CAS (the only network airlock uses)",
  usage: `usage: airlock fetch [--spec FILE] [--root DIR] [--frozen] [--offline] [--json]

Makes every input of the spec's \`inputs:\` available in the CAS, downloading only
what is not already there under its pin (the spec's sha256, else the one in
locks/${INPUTS_LOCK_FILE}). Content that does not match its pin is refused.
The digests of inputs with no pin are learned and added to the lock (no entry
is dropped; \`airlock lock\` rewrites the lock).

  --frozen     refuse inputs without a pin, never write the lock
${FLAGS}`,
  options: OPTIONS,
  async body(ctx) {
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
  },
});

export const lockCommand = defineCommand({
  name: 'lock',
  summary: `pin every input of the spec by sha256 in locks/${INPUTS_LOCK_FILE}`,
  usage: `usage: airlock lock [--spec FILE] [--root DIR] [--frozen] [--offline] [--json]

Fetches every input of the spec (learning the digest of those not pinned yet)
and writes locks/${INPUTS_LOCK_FILE} with exactly the spec's inputs: each
one's URL, sha256 and size. Entries of inputs no longer in the spec are dropped.

  --frozen     change nothing: fail (FETCH_NOT_PINNED) when the lock is not what
               it would be written as (an input unpinned, added or removed)
${FLAGS}`,
  options: OPTIONS,
  async body(ctx) {
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
  },
});

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
