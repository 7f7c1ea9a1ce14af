import { newRunId } from '../util/run-id.js';
import type { StepOutcome } from '../proof/transcript-events-cell.js';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';

import { AirlockError, isAirlockError } from '../errors.js';
import type { Digest } from '../util/digest.js';
import { MIGRATIONS, type Migration } from './ledger-schema.js';
import { pidAlive } from './process.js';

/** How often a running run's controller renews its lease, and how long a lease lasts unrenewed. */
export const LEASE_RENEW_MS = 15_000;
export const LEASE_TTL_MS = 60_000;

export type RunStatus = 'running' | 'passed' | 'failed' | 'error' | 'interrupted';

export interface RunRow {
  id: string;
  specName: string;
  specDigest: Digest;
  status: RunStatus;
  /** ISO 8601, UTC */
  startedAt: string;
  finishedAt: string | null;
  bundleDir: string | null;
  exitCode: number | null;
  /** the process that started the run (used to find runs whose process died) */
  pid: number | null;
  host: string | null;
}

export interface ImageRow {
  runId: string;
  name: string;
  imageId: string;
  rootfsDigest: Digest | null;
  buildLogDigest: Digest | null;
  durationMs: number | null;
}

export interface StepRow {
  runId: string;
  /** the environment / matrix cell the step ran in */
  env: string;
  idx: number;
  name: string;
  exitCode: number | null;
  durationMs: number | null;
  stdoutDigest: Digest | null;
  stderrDigest: Digest | null;
  verdict: StepOutcome;
  message: string | null;
}

export interface BlobRow {
  digest: Digest;
  size: number;
  firstSeenRun: string | null;
  role: string | null;
}

export interface RootfsCacheRow {
  imageId: string;
  rootfsDigest: Digest;
  listingDigest: Digest | null;
  computedAt: string;
}

export interface StartRunInput {
  /** default: `<UTC timestamp>-<8 hex>`, sortable by start time */
  id?: string;
  specName: string;
  specDigest: Digest;
  bundleDir?: string | null;
  /** default: now */
  startedAt?: Date;
}

export interface FinishRunInput {
  status: Exclude<RunStatus, 'running'>;
  exitCode?: number | null;
  bundleDir?: string | null;
  /** default: now */
  finishedAt?: Date;
}

type Optional<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;
export type ImageInput = Optional<ImageRow, 'rootfsDigest' | 'buildLogDigest' | 'durationMs'>;
export type StepInput = Optional<
  StepRow,
  'exitCode' | 'durationMs' | 'stdoutDigest' | 'stderrDigest' | 'message'
>;
export type BlobInput = Optional<BlobRow, 'firstSeenRun' | 'role'>;
export type RootfsCacheInput = Optional<RootfsCacheRow, 'listingDigest' | 'computedAt'>;

export interface LedgerOptions {
  /** default 5000: how long a write waits for another connection's lock before LEDGER_ERROR */
  busyTimeoutMs?: number;
  /** for tests: the migration list to apply (default: the real schema) */
  migrations?: readonly Migration[];
}

/**
 * The facts of every run (runs, images, steps, blobs seen, rootfs digests already
 * measured) in one SQLite file. Synchronous (better-sqlite3): each call is one short
 * statement or transaction. WAL lets readers (`airlock report`) run beside a writer.
 */
export class Ledger {
  readonly path: string;
  /** open until close(); every method uses it */
  readonly #db: Database;

  constructor(path: string, options: LedgerOptions = {}) {
    this.path = path;
    this.#db = guard(`cannot open the ledger at ${path}`, () => {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      const db = new BetterSqlite3(path, { timeout: options.busyTimeoutMs ?? 5000 });
      try {
        db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
        db.pragma('journal_mode = WAL');
        db.pragma('foreign_keys = ON');
        db.pragma('synchronous = NORMAL');
        migrate(db, options.migrations ?? MIGRATIONS, path);
      } catch (e) {
        db.close();
        throw e;
      }
      return db;
    });
  }

  /** The schema version this file is at after opening. */
  get schemaVersion(): number {
    return currentVersion(this.#db);
  }

  startRun(input: StartRunInput): RunRow {
    const startedAt = input.startedAt ?? new Date();
    const id = input.id ?? newRunId(startedAt);
    guard(`cannot record the start of run ${id}`, () =>
      this.#db
        .prepare(
          `INSERT INTO runs (id, spec_name, spec_digest, status, started_at, bundle_dir, pid, host, heartbeat_at)
           VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)`,
        )
        .run(id, input.specName, input.specDigest, startedAt.toISOString(), input.bundleDir ?? null, process.pid, hostname(), new Date().toISOString()),
    );
    return this.getRun(id)!;
  }

  finishRun(id: string, input: FinishRunInput): RunRow {
    const finishedAt = (input.finishedAt ?? new Date()).toISOString();
    const info = guard(`cannot record the end of run ${id}`, () =>
      this.#db
        .prepare(
          `UPDATE runs SET status = ?, finished_at = ?, exit_code = ?, bundle_dir = COALESCE(?, bundle_dir)
           WHERE id = ?`,
        )
        .run(input.status, finishedAt, input.exitCode ?? null, input.bundleDir ?? null, id),
    );
    if (info.changes === 0) throw new AirlockError('LEDGER_ERROR', `no run ${id} in the ledger`, { details: { runId: id } });
    return this.getRun(id)!;
  }

  /** Inserts or replaces the image of that name in that run. */
  recordImage(row: ImageInput): void {
    guard(`cannot record image ${row.name} of run ${row.runId}`, () =>
      this.#db
        .prepare(
          `INSERT OR REPLACE INTO images (run_id, name, image_id, rootfs_digest, build_log_digest, duration_ms)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(row.runId, row.name, row.imageId, row.rootfsDigest ?? null, row.buildLogDigest ?? null, row.durationMs ?? null),
    );
  }

  /** Inserts or replaces step `idx` of `env` in that run. */
  recordStep(row: StepInput): void {
    guard(`cannot record step ${row.env}#${row.idx} of run ${row.runId}`, () =>
      this.#db
        .prepare(
          `INSERT OR REPLACE INTO steps
             (run_id, env, idx, name, exit_code, duration_ms, stdout_digest, stderr_digest, verdict, message)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          row.runId,
          row.env,
          row.idx,
          row.name,
          row.exitCode ?? null,
          row.durationMs ?? null,
          row.stdoutDigest ?? null,
          row.stderrDigest ?? null,
          row.verdict,
          row.message ?? null,
        ),
    );
  }

  /** Records a blob; the first run (and role) that stored it is kept on later calls. */
  recordBlob(row: BlobInput): void {
    guard(`cannot record blob ${row.digest}`, () =>
      this.#db
        .prepare(`INSERT OR IGNORE INTO blobs (digest, size, first_seen_run, role) VALUES (?, ?, ?, ?)`)
        .run(row.digest, row.size, row.firstSeenRun ?? null, row.role ?? null),
    );
  }

  getBlob(digest: Digest): BlobRow | undefined {
    const r = guard('cannot read the ledger', () =>
      this.#db.prepare(`SELECT * FROM blobs WHERE digest = ?`).get(digest),
    ) as BlobDb | undefined;
    return r && { digest: r.digest as Digest, size: r.size, firstSeenRun: r.first_seen_run, role: r.role };
  }

  /** The rootfs digest measured earlier for an engine image id, so it need not be re-hashed. */
  getRootfsDigest(imageId: string): RootfsCacheRow | undefined {
    const r = guard('cannot read the ledger', () =>
      this.#db.prepare(`SELECT * FROM rootfs_cache WHERE image_id = ?`).get(imageId),
    ) as RootfsDb | undefined;
    return (
      r && {
        imageId: r.image_id,
        rootfsDigest: r.rootfs_digest as Digest,
        listingDigest: r.listing_digest as Digest | null,
        computedAt: r.computed_at,
      }
    );
  }

  putRootfsDigest(row: RootfsCacheInput): void {
    guard(`cannot record the rootfs digest of ${row.imageId}`, () =>
      this.#db
        .prepare(
          `INSERT OR REPLACE INTO rootfs_cache (image_id, rootfs_digest, listing_digest, computed_at) VALUES (?, ?, ?, ?)`,
        )
        .run(row.imageId, row.rootfsDigest, row.listingDigest ?? null, row.computedAt ?? new Date().toISOString()),
    );
  }

  /** The action-cache entry (JSON) stored under a key. */
  getCacheEntry(key: string): string | undefined {
    const r = guard('cannot read the ledger', () =>
      this.#db.prepare(`SELECT entry FROM action_cache WHERE key = ?`).get(key),
    ) as { entry: string } | undefined;
    return r?.entry;
  }

  /** The most recently stored action-cache entry (JSON) of a cell, under any key. */
  latestCacheEntry(cell: string): string | undefined {
    const r = guard('cannot read the ledger', () =>
      this.#db.prepare(`SELECT entry FROM action_cache WHERE cell = ? ORDER BY stored_at DESC, rowid DESC LIMIT 1`).get(cell),
    ) as { entry: string } | undefined;
    return r?.entry;
  }

  putCacheEntry(key: string, cell: string, entry: string, storedAt = new Date()): void {
    guard(`cannot store cache entry ${key}`, () =>
      this.#db
        .prepare(`INSERT OR REPLACE INTO action_cache (key, cell, entry, stored_at) VALUES (?, ?, ?, ?)`)
        .run(key, cell, entry, storedAt.toISOString()),
    );
  }

  /** The image id a build with these inputs made before (the caller checks the engine still has it). */
  getBuild(key: string): string | undefined {
    const r = guard('cannot read the ledger', () => this.#db.prepare(`SELECT image_id FROM build_cache WHERE key = ?`).get(key)) as
      | { image_id: string }
      | undefined;
    return r?.image_id;
  }

  putBuild(key: string, variant: string, imageId: string, storedAt = new Date()): void {
    guard(`cannot store build ${key}`, () =>
      this.#db
        .prepare(`INSERT OR REPLACE INTO build_cache (key, variant, image_id, stored_at) VALUES (?, ?, ?, ?)`)
        .run(key, variant, imageId, storedAt.toISOString()),
    );
  }

  getRun(id: string): RunRow | undefined {
    const r = guard('cannot read the ledger', () => this.#db.prepare(`SELECT * FROM runs WHERE id = ?`).get(id)) as
      | RunDb
      | undefined;
    return r && toRun(r);
  }

  /** Most recent first. */
  listRuns(limit = 20): RunRow[] {
    const rows = guard('cannot read the ledger', () =>
      this.#db.prepare(`SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?`).all(limit),
    ) as RunDb[];
    return rows.map(toRun);
  }

  listImages(runId: string): ImageRow[] {
    const rows = guard('cannot read the ledger', () =>
      this.#db.prepare(`SELECT * FROM images WHERE run_id = ? ORDER BY name`).all(runId),
    ) as ImageDb[];
    return rows.map((r) => ({
      runId: r.run_id,
      name: r.name,
      imageId: r.image_id,
      rootfsDigest: r.rootfs_digest as Digest | null,
      buildLogDigest: r.build_log_digest as Digest | null,
      durationMs: r.duration_ms,
    }));
  }

  listSteps(runId: string): StepRow[] {
    const rows = guard('cannot read the ledger', () =>
      this.#db.prepare(`SELECT * FROM steps WHERE run_id = ? ORDER BY env, idx`).all(runId),
    ) as StepDb[];
    return rows.map((r) => ({
      runId: r.run_id,
      env: r.env,
      idx: r.idx,
      name: r.name,
      exitCode: r.exit_code,
      durationMs: r.duration_ms,
      stdoutDigest: r.stdout_digest as Digest | null,
      stderrDigest: r.stderr_digest as Digest | null,
      verdict: r.verdict,
      message: r.message,
    }));
  }

  /** The controller of a running run says it is alive (every LEASE_RENEW_MS). */
  renewLease(id: string, now = new Date()): void {
    guard(`cannot renew the lease of run ${id}`, () =>
      this.#db.prepare(`UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'`).run(now.toISOString(), id),
    );
  }

  /**
   * The runs of this workspace, and which of them are live: `running` with a lease renewed
   * within LEASE_TTL_MS and, when started on this host, a process that still exists. A run
   * on another host (a workspace on a shared disk) is judged by its lease alone, never by a
   * local pid.
   */
  runLiveness(now = new Date()): Map<string, boolean> {
    const host = hostname();
    const rows = guard('cannot read the runs', () => this.#db.prepare(`SELECT id, status, pid, host, heartbeat_at FROM runs`).all()) as Pick<
      RunDb,
      'id' | 'status' | 'pid' | 'host' | 'heartbeat_at'
    >[];
    const live = (r: (typeof rows)[number]) => {
      if (r.status !== 'running') return false;
      const renewed = r.heartbeat_at !== null && now.getTime() - Date.parse(r.heartbeat_at) < LEASE_TTL_MS;
      if (r.host === host) return r.pid !== null && pidAlive(r.pid) && (renewed || r.heartbeat_at === null);
      return renewed;
    };
    return new Map(rows.map((r) => [r.id, live(r)]));
  }

  /** Marks runs still `running` whose lease is dead (see runLiveness) as `interrupted`. Returns the ids marked. */
  markStaleRunsInterrupted(options: { now?: Date } = {}): string[] {
    const now = options.now ?? new Date();
    return guard('cannot mark stale runs', () =>
      this.#db
        .transaction(() => {
          const stale = [...this.runLiveness(now)].filter(([id, live]) => !live && this.getRun(id)?.status === 'running').map(([id]) => id);
          const mark = this.#db.prepare(`UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ? AND status = 'running'`);
          for (const id of stale) mark.run(now.toISOString(), id);
          return stale;
        })
        .immediate(),
    );
  }

  /** Every image id this workspace's runs built. */
  imageIds(): Set<string> {
    const rows = guard('cannot read the images', () => this.#db.prepare(`SELECT DISTINCT image_id FROM images`).all()) as { image_id: string }[];
    return new Set(rows.map((r) => r.image_id));
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

interface RunDb {
  id: string;
  spec_name: string;
  spec_digest: string;
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  bundle_dir: string | null;
  exit_code: number | null;
  pid: number | null;
  host: string | null;
  heartbeat_at: string | null;
}
interface ImageDb {
  run_id: string;
  name: string;
  image_id: string;
  rootfs_digest: string | null;
  build_log_digest: string | null;
  duration_ms: number | null;
}
interface StepDb {
  run_id: string;
  env: string;
  idx: number;
  name: string;
  exit_code: number | null;
  duration_ms: number | null;
  stdout_digest: string | null;
  stderr_digest: string | null;
  verdict: StepOutcome;
  message: string | null;
}
interface BlobDb {
  digest: string;
  size: number;
  first_seen_run: string | null;
  role: string | null;
}
interface RootfsDb {
  image_id: string;
  rootfs_digest: string;
  listing_digest: string | null;
  computed_at: string;
}

function toRun(r: RunDb): RunRow {
  return {
    id: r.id,
    specName: r.spec_name,
    specDigest: r.spec_digest as Digest,
    status: r.status,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    bundleDir: r.bundle_dir,
    exitCode: r.exit_code,
    pid: r.pid,
    host: r.host,
  };
}

function currentVersion(db: Database): number {
  const row = db.prepare(`SELECT MAX(version) AS v FROM schema_migrations`).get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Applies the migrations this file lacks, each in its own IMMEDIATE transaction (so two
 * processes opening a fresh file at once do not both apply one). A file written by a newer
 * airlock (a version we do not know) is refused rather than misread.
 */
function migrate(db: Database, migrations: readonly Migration[], path: string): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const latest = migrations.length;
  const found = currentVersion(db);
  if (found > latest) {
    throw new AirlockError(
      'LEDGER_ERROR',
      `the ledger at ${path} has schema version ${found}, newer than this airlock knows (${latest}); upgrade airlock`,
      { details: { path, found, supported: latest } },
    );
  }
  for (const m of migrations) {
    db.transaction(() => {
      if (currentVersion(db) >= m.version) return;
      m.up(db);
      db.prepare(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`).run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
    }).immediate();
  }
}


/** Runs one database act, turning a raw SQLite error into LEDGER_ERROR. */
function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isAirlockError(e)) throw e;
    const code = (e as { code?: string }).code;
    throw new AirlockError('LEDGER_ERROR', `${what}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      details: { sqliteCode: code },
    });
  }
}
