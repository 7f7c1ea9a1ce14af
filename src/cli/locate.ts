import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { AirlockError } from '../errors.js';

/** The names a spec is found under, in order of preference (compose-style). */
export const SPEC_NAMES = ['airlock.yaml', 'airlock.yml'] as const;

/** Where a command's spec and workspace are, and how they were found. */
export interface Location {
  /** the workspace root holding artifacts/, proofs/, locks/ */
  root: string;
  /** the spec file, when one was named or found */
  specFile: string | undefined;
  /** what to say once on stderr (the workspace is not the cwd, or both spec names exist), else undefined */
  note: string | undefined;
}

export interface LocateInput {
  /** -f/--file (or its alias --spec) */
  file?: string | undefined;
  /** --root */
  root?: string | undefined;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Finds the spec like git finds `.git` and compose its file: `-f`, else
 * AIRLOCK_FILE, else airlock.yaml / airlock.yml in the cwd or the nearest folder
 * above it. The workspace is the spec's folder (unless --root or AIRLOCK_ROOT
 * names one), so a command run from a subfolder uses the workspace it belongs
 * to instead of starting a second one there.
 */
export function locate({ file, root, cwd, env }: LocateInput): Location {
  const named = file ?? env.AIRLOCK_FILE;
  const found = named === undefined ? searchUpwards(cwd) : { file: resolve(cwd, named), shadowed: undefined };
  const specFile = found?.file;
  const explicitRoot = root ?? env.AIRLOCK_ROOT;
  const workspace = explicitRoot !== undefined ? resolve(cwd, explicitRoot) : specFile !== undefined ? dirname(specFile) : resolve(cwd);
  const notes: string[] = [];
  if (explicitRoot === undefined && workspace !== resolve(cwd)) notes.push(`airlock: workspace ${workspace} (the folder of ${shown(cwd, specFile!)})`);
  if (found?.shadowed) notes.push(`airlock: both ${SPEC_NAMES.join(' and ')} in ${dirname(found.file)}; using ${SPEC_NAMES[0]}`);
  return { root: workspace, specFile, note: notes.length > 0 ? notes.join('\n') : undefined };
}

/** The spec a command needs, or SPEC_NOT_FOUND saying where it looked and how to name one. */
export function requireSpec(location: Location, cwd: string): string {
  if (location.specFile !== undefined) return location.specFile;
  throw new AirlockError('SPEC_NOT_FOUND', `no ${SPEC_NAMES.join(' or ')} in ${cwd} or any folder above it; name one with -f FILE or AIRLOCK_FILE`, {
    details: { searchedFrom: cwd, names: [...SPEC_NAMES] },
  });
}

function searchUpwards(cwd: string): { file: string; shadowed: string | undefined } | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const [preferred, other] = SPEC_NAMES.map((n) => join(dir, n)) as [string, string];
    if (existsSync(preferred)) return { file: preferred, shadowed: existsSync(other) ? other : undefined };
    if (existsSync(other)) return { file: other, shadowed: undefined };
    if (dirname(dir) === dir) return undefined;
  }
}

function shown(cwd: string, file: string): string {
  return relative(cwd, file) || file;
}
