import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isAirlockError } from '../errors.js';
import { sha256Digest } from '../util/digest.js';
import { LEASE_TTL_MS, Ledger } from './ledger.js';
import { MIGRATIONS, type Migration } from './ledger-schema.js';

const REGISTER_TS = fileURLToPath(new URL('./testing/register-ts.mjs', import.meta.url));
const LEDGER_TS = fileURLToPath(new URL('./ledger.ts', import.meta.url));

let dir: string;
let dbPath: string;
const open: Ledger[] = [];
const openLedger = (opts?: ConstructorParameters<typeof Ledger>[1]): Ledger => {
  const l = new Ledger(dbPath, opts);
  open.push(l);
  return l;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-ledger-'));
  dbPath = join(dir, 'artifacts', 'ledger.db');
});
afterEach(() => {
  for (const l of open.splice(0)) l.close();
  rmSync(dir, { recursive: true, force: true });
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isAirlockError(e) ? e.code : `not coded: ${String(e)}`;
  }
  return undefined;
}

const spec = sha256Digest('spec');

describe('Ledger migrations', () => {
  it('creates the schema with WAL, foreign keys and a version table; reopening is idempotent', () => {
    const l = openLedger();
    expect(l.schemaVersion).toBe(MIGRATIONS.length);
    l.close();

    const raw = new BetterSqlite3(dbPath, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (raw.prepare(`SELECT name FROM sqlite_master WHERE type='table' ORDER BY name`).all() as {
      name: string;
    }[]).map((t) => t.name);
    expect(tables).toEqual(['action_cache', 'blobs', 'build_cache', 'images', 'rootfs_cache', 'runs', 'schema_migrations', 'steps']);
    raw.close();

    const again = openLedger();
    expect(again.schemaVersion).toBe(MIGRATIONS.length);
    again.close();
    const raw2 = new BetterSqlite3(dbPath, { readonly: true });
    expect(raw2.prepare(`SELECT COUNT(*) AS n FROM schema_migrations`).get()).toEqual({ n: MIGRATIONS.length });
    raw2.close();
  });

  it('applies only the missing migrations, in order, each atomically', () => {
    const applied: number[] = [];
    const next = MIGRATIONS.length + 1;
    const v2: Migration = {
      version: next,
      name: 'add notes',
      up: (db) => {
        applied.push(next);
        db.exec(`ALTER TABLE runs ADD COLUMN notes TEXT`);
      },
    };
    openLedger().close();
    const l = openLedger({ migrations: [...MIGRATIONS, v2] });
    expect(l.schemaVersion).toBe(next);
    l.close();
    openLedger({ migrations: [...MIGRATIONS, v2] }).close();
    expect(applied).toEqual([next]);

    // a failing migration leaves nothing half-applied
    const bad: Migration = {
      version: next + 1,
      name: 'broken',
      up: (db) => {
        db.exec(`CREATE TABLE half (x INTEGER)`);
        db.exec(`THIS IS NOT SQL`);
      },
    };
    expect(codeOf(() => openLedger({ migrations: [...MIGRATIONS, v2, bad] }))).toBe('LEDGER_ERROR');
    const raw = new BetterSqlite3(dbPath, { readonly: true });
    expect(raw.prepare(`SELECT name FROM sqlite_master WHERE name = 'half'`).get()).toBeUndefined();
    expect(raw.prepare(`SELECT MAX(version) AS v FROM schema_migrations`).get()).toEqual({ v: next });
    raw.close();
  });

  it('refuses a ledger written by a newer airlock', () => {
    openLedger().close();
    const raw = new BetterSqlite3(dbPath);
    raw.prepare(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')`).run();
    raw.close();
    expect(codeOf(() => openLedger())).toBe('LEDGER_ERROR');
  });
});

describe('Ledger records', () => {
  it('records a run with images, steps and blobs, as typed rows', () => {
    const l = openLedger();
    const run = l.startRun({ id: 'r1', specName: 'demo', specDigest: spec, startedAt: new Date('2024-01-01T00:00:00Z') });
    expect(run).toMatchObject({
      id: 'r1',
      specName: 'demo',
      specDigest: spec,
      status: 'running',
      startedAt: '2024-01-01T00:00:00.000Z',
      finishedAt: null,
      exitCode: null,
      pid: process.pid,
    });

    l.recordImage({ runId: 'r1', name: 'base', imageId: 'sha256:img', rootfsDigest: sha256Digest('fs'), durationMs: 12 });
    l.recordStep({ runId: 'r1', env: 'linux', idx: 0, name: 'test', exitCode: 0, verdict: 'pass', stdoutDigest: sha256Digest('o') });
    l.recordStep({ runId: 'r1', env: 'linux', idx: 1, name: 'lint', exitCode: 1, verdict: 'fail', message: 'exit 1' });
    l.recordBlob({ digest: sha256Digest('o'), size: 1, firstSeenRun: 'r1', role: 'stdout' });
    l.recordBlob({ digest: sha256Digest('o'), size: 1, firstSeenRun: null, role: 'other' });

    expect(l.listImages('r1')).toEqual([
      { runId: 'r1', name: 'base', imageId: 'sha256:img', rootfsDigest: sha256Digest('fs'), buildLogDigest: null, durationMs: 12 },
    ]);
    expect(l.listSteps('r1').map((s) => [s.idx, s.verdict, s.message])).toEqual([
      [0, 'pass', null],
      [1, 'fail', 'exit 1'],
    ]);
    expect(l.getBlob(sha256Digest('o'))).toEqual({ digest: sha256Digest('o'), size: 1, firstSeenRun: 'r1', role: 'stdout' });

    const done = l.finishRun('r1', { status: 'failed', exitCode: 1, bundleDir: 'proofs/r1' });
    expect(done).toMatchObject({ status: 'failed', exitCode: 1, bundleDir: 'proofs/r1' });
    expect(done.finishedAt).not.toBeNull();
    expect(codeOf(() => l.finishRun('nope', { status: 'passed' }))).toBe('LEDGER_ERROR');
  });

  it('enforces foreign keys and value constraints', () => {
    const l = openLedger();
    expect(codeOf(() => l.recordStep({ runId: 'ghost', env: 'e', idx: 0, name: 's', verdict: 'pass' }))).toBe('LEDGER_ERROR');
    l.startRun({ id: 'r', specName: 's', specDigest: spec });
    expect(
      codeOf(() => l.recordStep({ runId: 'r', env: 'e', idx: 0, name: 's', verdict: 'maybe' as 'pass' })),
    ).toBe('LEDGER_ERROR');
    expect(codeOf(() => l.startRun({ id: 'r', specName: 's', specDigest: spec }))).toBe('LEDGER_ERROR');
  });

  it('lists runs most recent first and generates sortable ids', () => {
    const l = openLedger();
    const a = l.startRun({ specName: 'a', specDigest: spec, startedAt: new Date('2024-01-01T00:00:00Z') });
    const b = l.startRun({ specName: 'b', specDigest: spec, startedAt: new Date('2024-01-02T00:00:00Z') });
    expect(a.id).toMatch(/^20240101T000000Z-[0-9a-f]{8}$/);
    expect(l.listRuns(10).map((r) => r.specName)).toEqual(['b', 'a']);
    expect(l.listRuns(1).map((r) => r.id)).toEqual([b.id]);
    expect(l.getRun('missing')).toBeUndefined();
  });

  it('caches rootfs digests by image id', () => {
    const l = openLedger();
    expect(l.getRootfsDigest('sha256:img')).toBeUndefined();
    l.putRootfsDigest({ imageId: 'sha256:img', rootfsDigest: sha256Digest('a'), listingDigest: sha256Digest('a') });
    l.putRootfsDigest({ imageId: 'sha256:img', rootfsDigest: sha256Digest('b') });
    expect(l.getRootfsDigest('sha256:img')).toMatchObject({ imageId: 'sha256:img', rootfsDigest: sha256Digest('b'), listingDigest: null });
  });

  it('a second connection sees committed writes and can write beside the first', () => {
    const w = openLedger();
    const r = openLedger();
    w.startRun({ id: 'x', specName: 's', specDigest: spec });
    expect(r.getRun('x')?.status).toBe('running');
    r.recordStep({ runId: 'x', env: 'e', idx: 0, name: 'n', verdict: 'pass' });
    w.finishRun('x', { status: 'passed', exitCode: 0 });
    expect(r.getRun('x')?.status).toBe('passed');
    expect(w.listSteps('x')).toHaveLength(1);
  });
});

describe('Ledger crash recovery', () => {
  it('marks a run left running by a killed process as interrupted, and leaves live runs alone', async () => {
    openLedger().close();
    const script = join(dir, 'child.mjs');
    writeFileSync(
      script,
      `const { Ledger } = await import(${JSON.stringify(LEDGER_TS)});
       const l = new Ledger(${JSON.stringify(dbPath)});
       l.startRun({ id: 'crashed', specName: 's', specDigest: ${JSON.stringify(spec)} });
       process.kill(process.pid, 'SIGKILL');`,
    );
    const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', REGISTER_TS, script], { stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (_c, sig) => resolve(sig));
    });
    expect(signal).toBe('SIGKILL');

    const l = openLedger();
    l.startRun({ id: 'live', specName: 's', specDigest: spec });
    expect(l.getRun('crashed')?.status).toBe('running');
    expect(l.markStaleRunsInterrupted()).toEqual(['crashed']);
    expect(l.getRun('crashed')).toMatchObject({ status: 'interrupted' });
    expect(l.getRun('crashed')?.finishedAt).not.toBeNull();
    expect(l.getRun('live')?.status).toBe('running');
    expect(l.markStaleRunsInterrupted()).toEqual([]);
  });

  it('a run whose lease was not renewed within its TTL is dead, even with its process alive', () => {
    const l = openLedger();
    const t0 = new Date();
    l.startRun({ id: 'leased', specName: 's', specDigest: spec });
    expect(l.runLiveness(new Date(t0.getTime() + LEASE_TTL_MS / 2)).get('leased')).toBe(true);
    l.renewLease('leased', new Date(t0.getTime() + LEASE_TTL_MS));
    expect(l.runLiveness(new Date(t0.getTime() + LEASE_TTL_MS * 1.5)).get('leased')).toBe(true);
    const late = new Date(t0.getTime() + LEASE_TTL_MS * 2 + 1);
    expect(l.runLiveness(late).get('leased')).toBe(false);
    expect(l.markStaleRunsInterrupted({ now: late })).toEqual(['leased']);
    expect(l.getRun('leased')?.status).toBe('interrupted');
    // a finished run is not live, and renewing it changes nothing
    l.renewLease('leased');
    expect(l.runLiveness().get('leased')).toBe(false);
  });
});
