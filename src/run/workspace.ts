import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Cas } from '../store/cas.js';
import { Ledger } from '../store/ledger.js';
import { workspacePaths } from './workspace-paths.js';

/**
 * Where a run keeps what lasts: `artifacts/` (the CAS and the ledger),
 * `proofs/` (bundles) and `locks/` (pins and trusted keys), all under one root:
 * the spec's folder unless `--root` or AIRLOCK_ROOT says otherwise (src/cli/locate.ts).
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

export async function openWorkspace(root: string): Promise<Workspace> {
  const paths = workspacePaths(root);
  await mkdir(paths.proofsDir, { recursive: true });
  await mkdir(paths.locksDir, { recursive: true });
  const cas = await Cas.open(paths.artifactsDir);
  const ledger = new Ledger(join(paths.artifactsDir, 'ledger.db'));
  ledger.markStaleRunsInterrupted();
  return { ...paths, cas, ledger, close: () => ledger.close() };
}
