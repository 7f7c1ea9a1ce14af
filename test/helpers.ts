import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { lockedHelper } from '../src/base/ensure.js';
import { connectEngine } from '../src/engine/client.js';
import type { Engine } from '../src/engine/engine.js';
import { LABEL_RUN } from '../src/engine/labels.js';
import { generateSigningKey, type SigningKey } from '../src/proof/keys.js';
import { silentReporter } from '../src/run/reporter.js';
import { runSpec, type RunResult } from '../src/run/run.js';
import { openWorkspace, type Workspace } from '../src/run/workspace.js';
import { loadSpec } from '../src/spec/load.js';
import { Cas } from '../src/store/cas.js';

export const REPO = join(import.meta.dirname, '..');

/** The repository's own CAS, where setup keeps the locked .debs (busybox, kernel, bases). */
export function repoCas(): Promise<Cas> {
  return Cas.open(join(REPO, 'artifacts'));
}

/** The locked static busybox (what every cell mounts as its helper), as an executable path. */
export async function lockedBusybox(): Promise<string> {
  return (await lockedHelper(await repoCas())).path;
}

export interface Sandbox {
  dir: string;
  workspace: Workspace;
  engine: Engine;
  key: SigningKey;
  close(): void;
}

/** A throwaway workspace (its own artifacts/, proofs/, locks/) and a fresh key: tests never touch the repo's. */
export async function sandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-it-'));
  const workspace = await openWorkspace(dir);
  return { dir, workspace, engine: connectEngine(), key: generateSigningKey(), close: () => workspace.close() };
}

/** Writes files (path → content) under dir. */
export async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

/** A one-image spec on airlock/busybox with the given environment body. */
export function busyboxSpec(name: string, environments: string): Record<string, string> {
  return {
    'Dockerfile': 'FROM airlock/busybox\n',
    'airlock.yaml': `version: 1\nname: ${name}\nimages:\n  box: { dockerfile: Dockerfile, context: . }\nenvironments:\n${environments}`,
  };
}

export async function runIn(sb: Sandbox, specFile: string, opts: { environments?: string[]; signal?: AbortSignal } = {}): Promise<RunResult> {
  return runSpec({
    loaded: await loadSpec(specFile),
    workspace: sb.workspace,
    engine: sb.engine,
    key: sb.key,
    reporter: silentReporter,
    signal: opts.signal ?? new AbortController().signal,
    ...(opts.environments ? { environments: opts.environments } : {}),
  });
}

/** Containers, networks and volumes still carrying a run's label. */
export async function leftovers(engine: Engine, runId: string): Promise<number> {
  const filters = { label: [`${LABEL_RUN}=${runId}`] };
  const containers = await engine.containers.list(filters);
  const networks = await engine.networks.list(filters);
  const volumes = await engine.volumes.list(filters);
  return containers.length + networks.length + volumes.length;
}
