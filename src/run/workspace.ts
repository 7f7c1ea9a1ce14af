import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActionCache } from '../cache/action-cache.js';
import { LedgerActionCache } from '../cache/ledger-cache.js';
import { TwoLevelActionCache } from '../cache/two-level-action-cache.js';
import type { SigningKey } from '../proof/keys.js';
import { Cas } from '../store/cas.js';
import { Ledger } from '../store/ledger.js';
import type { RemoteCacheConfig } from '../store/remote/config.js';
import type { DrainSummary, RemoteCacheWarning } from '../store/remote/remote-cache.js';
import { TwoLevelCas } from '../store/two-level-cas.js';
import { workspacePaths } from './workspace-paths.js';

/**
 * Where a run keeps what lasts: `artifacts/` (the CAS and the ledger),
 * `proofs/` (bundles) and `locks/` (pins and trusted keys), all under one root:
 * the spec's folder unless `--root` or AIRLOCK_ROOT says otherwise (src/cli/locate.ts).
 * With a remote cache, the CAS and the action cache are two-level (local first).
 */
export interface Workspace {
  root: string;
  artifactsDir: string;
  proofsDir: string;
  locksDir: string;
  cas: Cas;
  ledger: Ledger;
  /** the action cache of runs signed by `signer` (who signs what is published to the remote cache) */
  actionCache(signer: SigningKey): ActionCache;
  /** waits (bounded) for the background uploads to the remote cache, once; undefined without one */
  settle(): Promise<DrainSummary | undefined>;
  close(): void;
}

export interface WorkspaceOptions {
  /** the shared remote cache (store/remote/config.ts) */
  remoteCache?: RemoteCacheConfig | undefined;
  /** where the remote cache's warnings go; it never fails a command */
  onWarning?: (w: RemoteCacheWarning) => void;
}

export async function openWorkspace(root: string, options: WorkspaceOptions = {}): Promise<Workspace> {
  const paths = workspacePaths(root);
  await mkdir(paths.proofsDir, { recursive: true });
  await mkdir(paths.locksDir, { recursive: true });
  // the HTTP client (undici, ~0.3 s to load) only for a workspace that has a remote cache
  const remote = options.remoteCache
    ? new (await import('../store/remote/remote-cache.js')).RemoteCache(options.remoteCache, options.onWarning ?? (() => undefined))
    : undefined;
  const cas = remote ? await TwoLevelCas.over(paths.artifactsDir, remote) : await Cas.open(paths.artifactsDir);
  const ledger = new Ledger(join(paths.artifactsDir, 'ledger.db'));
  ledger.markStaleRunsInterrupted();
  let settled: Promise<DrainSummary | undefined> | undefined;
  return {
    ...paths,
    cas,
    ledger,
    actionCache: (signer) => {
      const local = new LedgerActionCache(ledger, cas);
      return cas instanceof TwoLevelCas ? new TwoLevelActionCache({ local, cas, signer, locksDir: paths.locksDir }) : local;
    },
    settle: () => (settled ??= remote ? remote.drain() : Promise.resolve(undefined)),
    close: () => ledger.close(),
  };
}
