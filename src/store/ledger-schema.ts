import type { Database } from 'better-sqlite3';

/**
 * The ledger's schema as an ordered list of migrations. Append only: a released
 * migration is never edited, a change is a new entry with the next version.
 */
export interface Migration {
  version: number;
  name: string;
  up: (db: Database) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    up: (db) =>
      db.exec(`
        CREATE TABLE runs (
          id          TEXT PRIMARY KEY,
          spec_name   TEXT NOT NULL,
          spec_digest TEXT NOT NULL,
          status      TEXT NOT NULL CHECK (status IN ('running','passed','failed','error','interrupted')),
          started_at  TEXT NOT NULL,
          finished_at TEXT,
          bundle_dir  TEXT,
          exit_code   INTEGER,
          -- who owns a running run, so a crashed one can be told from a live one
          pid         INTEGER,
          host        TEXT
        );
        CREATE INDEX runs_started_at ON runs (started_at);
        CREATE INDEX runs_status ON runs (status);

        CREATE TABLE images (
          run_id           TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          name             TEXT NOT NULL,
          image_id         TEXT NOT NULL,
          rootfs_digest    TEXT,
          build_log_digest TEXT,
          duration_ms      INTEGER,
          PRIMARY KEY (run_id, name)
        );

        CREATE TABLE steps (
          run_id        TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          env           TEXT NOT NULL,
          idx           INTEGER NOT NULL,
          name          TEXT NOT NULL,
          exit_code     INTEGER,
          duration_ms   INTEGER,
          stdout_digest TEXT,
          stderr_digest TEXT,
          verdict       TEXT NOT NULL CHECK (verdict IN ('pass','fail','timeout','error')),
          message       TEXT,
          PRIMARY KEY (run_id, env, idx)
        );

        CREATE TABLE blobs (
          digest         TEXT PRIMARY KEY,
          size           INTEGER NOT NULL,
          first_seen_run TEXT REFERENCES runs (id) ON DELETE SET NULL,
          role           TEXT
        );

        CREATE TABLE rootfs_cache (
          image_id       TEXT PRIMARY KEY,
          rootfs_digest  TEXT NOT NULL,
          listing_digest TEXT,
          computed_at    TEXT NOT NULL
        );
      `),
  },
  {
    version: 2,
    name: 'action cache',
    up: (db) =>
      db.exec(`
        -- one row per cache key: the replayable result of a cell (JSON), and which cell it was
        CREATE TABLE action_cache (
          key       TEXT PRIMARY KEY,
          cell      TEXT NOT NULL,
          entry     TEXT NOT NULL,
          stored_at TEXT NOT NULL
        );
        CREATE INDEX action_cache_cell ON action_cache (cell, stored_at);
      `),
  },
  {
    version: 3,
    name: 'build cache',
    up: (db) =>
      db.exec(`
        -- build inputs (context, Dockerfile, target, args, labels, base image ids) -> the image they made
        CREATE TABLE build_cache (
          key       TEXT PRIMARY KEY,
          variant   TEXT NOT NULL,
          image_id  TEXT NOT NULL,
          stored_at TEXT NOT NULL
        );
      `),
  },
  {
    version: 4,
    name: 'run leases',
    up: (db) =>
      db.exec(`
        -- a running run's controller renews this; a lease not renewed for LEASE_TTL_MS is dead on any host
        ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
      `),
  },
];
