import { join } from 'node:path';

/**
 * The folders of a workspace root: `artifacts/` (the CAS and the ledger), `proofs/`
 * (bundles) and `locks/` (pins and trusted keys). Kept apart from workspace.ts so
 * commands that only read paths (verify) do not load the ledger's SQLite binding.
 */
export function workspacePaths(root: string) {
  return { root, artifactsDir: join(root, 'artifacts'), proofsDir: join(root, 'proofs'), locksDir: join(root, 'locks') };
}
