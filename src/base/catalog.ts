import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Spec } from '../spec/types.js';
import { BASE_LOCK_FILE } from './lock.js';

/** airlock's own locks/: the built-in bases and the guest kernel are locked there. */
export const AIRLOCK_LOCKS_DIR = fileURLToPath(new URL('../../locks/', import.meta.url));
/**
 * The CAS a workspace copies a missing locked file from (checked by its sha256) before it
 * goes to the mirror, so a new workspace works offline too: AIRLOCK_SHARED_CAS, else
 * airlock's own (its install's artifacts/, where `make setup` keeps the built-in bases'
 * files and the kernel); AIRLOCK_SHARED_CAS= (empty) for none.
 */
export function sharedCasDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const set = env.AIRLOCK_SHARED_CAS;
  if (set !== undefined) return set === '' ? [] : [set];
  return [fileURLToPath(new URL('../../artifacts/', import.meta.url))];
}

/** 2023-06-10, bookworm's release: a fixed epoch so mmdebstrap's output is bit-reproducible. */
const EPOCH = 1686355200;
const ARCH = 'amd64';

interface RecipeFields {
  /** the engine image reference, normalized (`repo:tag`) */
  ref: string;
  suite: string;
  architecture: string;
  /** the lock file holding this base (airlock's own for built-ins, the project's for spec bases) */
  lockFile: string;
}
export type DebianBaseRecipe = RecipeFields & { kind: 'debian'; include: string[]; sourceDateEpoch: number };
export type BusyboxBaseRecipe = RecipeFields & { kind: 'busybox' };
/** A base image: made locally (nothing can be pulled), only ever from its lock entry. */
export type BaseRecipe = DebianBaseRecipe | BusyboxBaseRecipe;

export const BUSYBOX_REF = 'airlock/busybox:latest';

/** The bases every project can build FROM, locked in airlock's own locks/. */
export function builtinBases(locksDir = AIRLOCK_LOCKS_DIR): BaseRecipe[] {
  const lockFile = join(locksDir, BASE_LOCK_FILE);
  const debian = (ref: string, include: string[]): DebianBaseRecipe => ({ kind: 'debian', ref, suite: 'bookworm', architecture: ARCH, include, sourceDateEpoch: EPOCH, lockFile });
  return [
    { kind: 'busybox', ref: BUSYBOX_REF, suite: 'bookworm', architecture: ARCH, lockFile },
    debian('airlock/debian:bookworm', []),
    debian('airlock/debian:bookworm-build', ['gcc', 'libc6-dev', 'make']),
  ];
}

/** The image a spec's base `key` is built as, and the name its Dockerfiles use in FROM. */
export function specBaseRef(specName: string, key: string): string {
  return `airlock/${specName}/${key}:latest`;
}

/** A spec's own bases, locked in `locks/` next to the spec (the project's). */
export function specBases(spec: Pick<Spec, 'name' | 'bases'>, specDir: string): BaseRecipe[] {
  const lockFile = join(specDir, 'locks', BASE_LOCK_FILE);
  return Object.entries(spec.bases).map(([key, b]) => ({
    kind: 'debian',
    ref: specBaseRef(spec.name, key),
    suite: b.debian,
    architecture: ARCH,
    include: [...b.packages].sort(),
    sourceDateEpoch: EPOCH,
    lockFile,
  }));
}

/** `airlock/busybox` means `airlock/busybox:latest`, as the engine reads it. */
export function normalizeRef(ref: string): string {
  const lastSegment = ref.slice(ref.lastIndexOf('/') + 1);
  return lastSegment.includes(':') || ref.includes('@') ? ref : `${ref}:latest`;
}

export function findBase(recipes: readonly BaseRecipe[], ref: string): BaseRecipe | undefined {
  const want = normalizeRef(ref);
  return recipes.find((b) => b.ref === want);
}
