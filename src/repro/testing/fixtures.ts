import { execFileSync } from 'node:child_process';
import { deflateRawSync } from 'node:zlib';

import { sha256Digest } from '../../util/digest.js';
import type { DiffContext, FileSide, RunFacts } from '../types.js';

/**
 * Two builds of the same sources, on different machines, by different users, two minutes
 * apart: run 1 made side a, run 2 side b.
 */
export const CTX: DiffContext = {
  runs: [
    {
      startedAt: new Date('2026-11-21T21:03:00Z'),
      finishedAt: new Date('2026-11-21T21:03:20Z'),
      hostname: 'builder-a7',
      buildPath: '/tmp/airlock-build-3f9c1',
      user: 'alice',
      locale: 'C',
      tz: 'UTC',
      domainname: '',
      tzValue: '',
      umask: '0022',
      uid: 1000,
      gid: 1000,
      cpus: 2,
      envReversed: false,
    },
    {
      startedAt: new Date('2026-11-21T21:05:00Z'),
      finishedAt: new Date('2026-11-21T21:05:30Z'),
      hostname: 'builder-b2',
      buildPath: '/tmp/airlock-build-77e0d',
      user: 'bob',
      locale: 'en_US.UTF-8',
      tz: 'Europe/Berlin',
      domainname: '',
      tzValue: 'Europe/Berlin',
      umask: '0022',
      uid: 1001,
      gid: 1001,
      cpus: 2,
      envReversed: false,
    },
  ],
};

/** Whether a host tool answers (`tool --version`): tests that need real bytes from it skip, saying so, without it. */
export function hasTool(tool: string, arg = '--version'): boolean {
  try {
    execFileSync(tool, [arg], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** One run's facts between `startedAt` and `finishedAt`: a plain build (C locale, UTC, umask 0022, uid 1000, 4 CPUs) unless `over` says otherwise. */
export function runFacts(startedAt: Date, finishedAt: Date, over: Partial<RunFacts> = {}): RunFacts {
  return {
    startedAt,
    finishedAt,
    hostname: 'builder-a7',
    domainname: '',
    buildPath: '/nonexistent',
    user: 'builder',
    uid: 1000,
    gid: 1000,
    locale: 'C',
    tz: 'UTC',
    tzValue: '',
    umask: '0022',
    cpus: 4,
    envReversed: false,
    ...over,
  };
}

/** A regular file side with its digest and content. */
export function file(path: string, content: string | Buffer, extra: Partial<FileSide> = {}): FileSide {
  const buf = typeof content === 'string' ? Buffer.from(content) : content;
  return { path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: buf.length, digest: sha256Digest(buf), read: async () => buf, ...extra };
}

export function dir(path: string, extra: Partial<FileSide> = {}): FileSide {
  return { path, type: 'dir', mode: 0o755, uid: 0, gid: 0, ...extra };
}

export interface ZipSpec {
  name: string;
  content?: string;
  /** Unix seconds, written in the "UT" extra field */
  mtime?: number;
  mode?: number;
  deflate?: boolean;
}

/** A minimal zip writer (stored or deflated members, Unix modes, UT mtimes), for fixtures only. */
export function makeZip(entries: readonly ZipSpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = Buffer.from(e.content ?? '');
    const body = e.deflate ? deflateRawSync(data) : data;
    const name = Buffer.from(e.name);
    const extra = Buffer.alloc(e.mtime === undefined ? 0 : 9);
    if (e.mtime !== undefined) {
      extra.writeUInt16LE(0x5455, 0);
      extra.writeUInt16LE(5, 2);
      extra.writeUInt8(1, 4);
      extra.writeUInt32LE(e.mtime, 5);
    }
    const crc = crc32(data);
    const method = e.deflate ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12); // 1980-01-01 in DOS date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE((((e.name.endsWith('/') ? 0o040000 : 0o100000) | (e.mode ?? 0o644)) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, extra, body);
    centrals.push(central, name, extra);
    offset += local.length + name.length + extra.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}
