import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Cas } from '../store/cas.js';
import { Ledger } from '../store/ledger.js';

/**
 * Where a run keeps what lasts: `artifacts/` (the CAS and the ledger),
 * `proofs/` (bundles) and `locks/` (pins and trusted keys), all under one root,
 * the directory airlock is run from unless `--root` or AIRLOCK_ROOT says otherwise.
 */
export interface Workspace {
  root: string;
  artifactsDir: string;
  proofsDir: string;
  locksDir: string;
  cas: Cas;
  ledger: Ledger;
  close(): void;
}

export function workspaceRoot(explicit?: string): string {
  return resolve(explicit ?? process.env.AIRLOCK_ROOT ?? process.cwd());
}

export function workspacePaths(root: string) {
  return { root, artifactsDir: join(root, 'artifacts'), proofsDir: join(root, 'proofs'), locksDir: join(root, 'locks') };
}

export async function openWorkspace(root: string): Promise<Workspace> {
  const paths = workspacePaths(root);
  await mkdir(paths.proofsDir, { recursive: true });
  await mkdir(paths.locksDir, { recursive: true });
  const cas = await Cas.open(paths.artifactsDir);
  const ledger = new Ledger(join(paths.artifactsDir, 'ledger.db'));
  ledger.markStaleRunsInterrupted();
  return { ...paths, cas, ledger, close: () => ledger.close() };
}
