import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { isAirlockError, type AirlockError } from '../src/errors.js';
import {
  emptyInputsLock,
  fetchInputs,
  lockInputs,
  readInputsLock,
  writeInputsLock,
  type FetchOptions,
  type FetchProgress,
  type InputSpec,
  type InputsLock,
} from '../src/fetch/index.js';
import { Cas } from '../src/store/cas.js';

// A real HTTP server on 127.0.0.1 serving one archive-like payload through routes that
// misbehave in every way the fetch phase must survive.
const CONTENT = randomBytes(4096);
const SHA = createHash('sha256').update(CONTENT).digest('hex');
const OTHER_SHA = createHash('sha256').update('something else').digest('hex');

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

const send = (res: ServerResponse, body: Buffer = CONTENT): void => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
};
const redirect = (status: number, location: string): Handler => (_req, res) => {
  res.writeHead(status, { location });
  res.end();
};

const ROUTES: Record<string, Handler> = {
  '/zlib-1.3.tar.gz': (_req, res) => send(res),
  '/r1': redirect(302, '/r2'),
  '/r2': redirect(301, 'zlib-1.3.tar.gz'),
  '/loop-a': redirect(302, '/loop-b'),
  '/loop-b': redirect(307, '/loop-a'),
  '/redirect-ftp': redirect(302, 'ftp://127.0.0.1/zlib-1.3.tar.gz'),
  '/missing': (_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('no such file');
  },
  '/truncated': (_req, res) => {
    res.writeHead(200, { 'content-length': 1000 });
    res.write(CONTENT.subarray(0, 500), () => setTimeout(() => res.socket?.destroy(), 20));
  },
  '/hang': () => undefined,
  '/stall': (_req, res) => {
    res.writeHead(200, { 'content-length': CONTENT.length });
    res.write(CONTENT.subarray(0, 100));
  },
  '/flaky': (_req, res, hit) => {
    if (hit === 1) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('busy');
    } else send(res);
  },
  '/throttled': (_req, res, hit) => {
    if (hit === 1) {
      res.writeHead(429, { 'retry-after': '0' });
      res.end();
    } else send(res);
  },
  '/chunked': (_req, res) => {
    res.writeHead(200, { 'transfer-encoding': 'chunked' });
    res.write(CONTENT.subarray(0, 2000));
    res.end(CONTENT.subarray(2000));
  },
};
for (let i = 0; i < 8; i++) ROUTES[`/chain/${i}`] = redirect(302, i === 7 ? '/zlib-1.3.tar.gz' : `/chain/${i + 1}`);

let server: Server;
let base: string;
const hits = new Map<string, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    const route = ROUTES[path];
    if (route === undefined) {
      res.writeHead(500);
      res.end(`no route ${path}`);
    } else route(req, res, n);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let dir: string;
let cas: Cas;
beforeEach(async () => {
  hits.clear();
  dir = mkdtempSync(join(tmpdir(), 'airlock-fetch-'));
  cas = await Cas.open(join(dir, 'artifacts'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const url = (path: string): string => `${base}${path}`;
const input = (path: string, sha256?: string): InputSpec => ({ name: 'zlib-src', url: url(path), ...(sha256 ? { sha256 } : {}) });
const opts = (extra: Partial<FetchOptions> = {}): FetchOptions => ({ cas, lock: emptyInputsLock(), retryDelayMs: 10, ...extra });

/** Blob and temp file names in the CAS: after a failure both must be empty. */
async function casFiles(): Promise<{ blobs: string[]; tmp: string[] }> {
  return { blobs: await fs.readdir(cas.blobDir), tmp: await fs.readdir(cas.tmpDir) };
}

async function failure(p: Promise<unknown>, code: string): Promise<AirlockError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isAirlockError(e), `expected AirlockError ${code}, got ${String(e)}`).toBe(true);
  expect((e as AirlockError).code).toBe(code);
  return e as AirlockError;
}

describe('fetchInputs', () => {
  it('downloads a pinned input into the CAS under its digest, then serves it from the cache', async () => {
    const events: FetchProgress[] = [];
    const [got] = await fetchInputs([input('/zlib-1.3.tar.gz', SHA)], opts({ onProgress: (e) => events.push(e) }));
    expect(got).toMatchObject({
      name: 'zlib-src',
      url: url('/zlib-1.3.tar.gz'),
      digest: `sha256:${SHA}`,
      size: CONTENT.length,
      source: 'network',
      attempts: 1,
      finalUrl: url('/zlib-1.3.tar.gz'),
    });
    expect(await cas.readBytes(`sha256:${SHA}`)).toEqual(CONTENT);
    expect(await casFiles()).toEqual({ blobs: [SHA], tmp: [] });
    expect(events.map((e) => e.kind)).toContain('bytes');
    expect(events.at(-1)).toMatchObject({ kind: 'done', source: 'network', size: CONTENT.length });

    const [again] = await fetchInputs([input('/zlib-1.3.tar.gz', SHA)], opts());
    expect(again).toMatchObject({ source: 'cache', attempts: 0, digest: `sha256:${SHA}`, size: CONTENT.length });
    expect(hits.get('/zlib-1.3.tar.gz')).toBe(1);
  });

  it('learns the digest of an unpinned input, and the lock it writes pins it', async () => {
    const fetched = await fetchInputs([input('/chunked')], opts());
    expect(fetched[0]).toMatchObject({ digest: `sha256:${SHA}`, source: 'network' });
    const file = join(dir, 'inputs.lock.json');
    await writeInputsLock(file, lockInputs(emptyInputsLock(), fetched));
    const lock = await readInputsLock(file);
    expect(lock).toEqual({ lockVersion: 1, inputs: { 'zlib-src': { url: url('/chunked'), sha256: SHA, size: CONTENT.length } } });
    // frozen now passes on the lock's pin alone, from the cache
    const [again] = await fetchInputs([input('/chunked')], opts({ lock, frozen: true }));
    expect(again).toMatchObject({ source: 'cache', digest: `sha256:${SHA}` });
  });

  it('follows redirects (relative Location too) and records the final URL', async () => {
    const events: FetchProgress[] = [];
    const [got] = await fetchInputs([input('/r1', SHA)], opts({ onProgress: (e) => events.push(e) }));
    expect(got).toMatchObject({ finalUrl: url('/zlib-1.3.tar.gz'), url: url('/r1'), source: 'network' });
    expect(events.filter((e) => e.kind === 'redirect').map((e) => (e as { status: number }).status)).toEqual([302, 301]);
  });

  it('refuses a redirect loop, naming the chain, without retrying', async () => {
    const e = await failure(fetchInputs([input('/loop-a', SHA)], opts()), 'FETCH_FAILED');
    expect(e.message).toBe(`input zlib-src: redirect loop: ${url('/loop-a')} -> ${url('/loop-b')} -> ${url('/loop-a')}`);
    expect(hits.get('/loop-a')).toBe(1);
    expect(await casFiles()).toEqual({ blobs: [], tmp: [] });
  });

  it('refuses more redirects than maxRedirects, and redirects to other schemes', async () => {
    const e = await failure(fetchInputs([input('/chain/0', SHA)], opts({ maxRedirects: 5 })), 'FETCH_FAILED');
    expect(e.message).toMatch(/^input zlib-src: too many redirects \(more than 5\): .*\/chain\/0 -> .*\/chain\/5 -> .*\/chain\/6$/);
    // the same chain fits a larger bound
    expect((await fetchInputs([input('/chain/0', SHA)], opts({ maxRedirects: 8 })))[0]!.finalUrl).toBe(url('/zlib-1.3.tar.gz'));

    const ftp = await failure(fetchInputs([input('/redirect-ftp')], opts()) /* unpinned: SHA is cached by now */, 'FETCH_FAILED');
    expect(ftp.message).toContain('redirects to ftp://127.0.0.1/zlib-1.3.tar.gz, which uses ftp:, only http and https are fetched');
    expect(await casFiles()).toEqual({ blobs: [SHA], tmp: [] });
  });

  it('fails on 404 at once, naming status and URL', async () => {
    const e = await failure(fetchInputs([input('/missing', SHA)], opts()), 'FETCH_FAILED');
    expect(e.message).toBe(`input zlib-src: HTTP 404 Not Found from ${url('/missing')}`);
    expect(e.details).toMatchObject({ reason: 'status', status: 404, input: 'zlib-src' });
    expect(hits.get('/missing')).toBe(1);
    expect(await casFiles()).toEqual({ blobs: [], tmp: [] });
  });

  it('refuses content that does not hash to the pin, storing nothing', async () => {
    const e = await failure(fetchInputs([input('/zlib-1.3.tar.gz', OTHER_SHA)], opts()), 'FETCH_HASH_MISMATCH');
    expect(e.message).toBe(
      `input zlib-src: content of ${url('/zlib-1.3.tar.gz')} hashes to sha256:${SHA}, expected sha256:${OTHER_SHA}; ` +
        'nothing was stored (the pin comes from airlock.yaml)',
    );
    expect(e.details).toMatchObject({ expected: `sha256:${OTHER_SHA}`, actual: `sha256:${SHA}` });
    expect(hits.get('/zlib-1.3.tar.gz')).toBe(1);
    expect(await casFiles()).toEqual({ blobs: [], tmp: [] });
  });

  it('reports a truncated transfer, retries it, and leaves nothing behind', async () => {
    const e = await failure(fetchInputs([input('/truncated', SHA)], opts({ retries: 2 })), 'FETCH_FAILED');
    expect(e.message).toMatch(/^input zlib-src: truncated transfer from http:\/\/127\.0\.0\.1:\d+\/truncated: .* after 500 of 1000 bytes \(gave up after 3 attempts\)$/);
    expect(e.details).toMatchObject({ reason: 'truncated', received: 500, expectedBytes: 1000, attempts: 3 });
    expect(hits.get('/truncated')).toBe(3);
    expect(await casFiles()).toEqual({ blobs: [], tmp: [] });
  });

  it('times out when the server never answers', async () => {
    const started = Date.now();
    const e = await failure(fetchInputs([input('/hang', SHA)], opts({ timeoutMs: 300, retries: 0 })), 'FETCH_FAILED');
    expect(e.message).toBe(`input zlib-src: timed out after 300ms waiting for a response from ${url('/hang')}`);
    expect(e.details).toMatchObject({ reason: 'timeout', timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await casFiles()).toEqual({ blobs: [], tmp: [] });
  });

  it('times out when the body stalls, retrying first', async () => {
    const e = await failure(fetchInputs([input('/stall', SHA)], opts({ timeoutMs: 300, retries: 1 })), 'FETCH_FAILED');
    expect(e.message).toBe(`input zlib-src: timed out after 300ms with no data received from ${url('/stall')} (gave up after 2 attempts)`);
    expect(hits.get('/stall')).toBe(2);
    expect(await casFiles()).toEqual({ blobs: [], tmp: [] });
  });

  it('retries a 503 and a 429, then succeeds', async () => {
    const retries: FetchProgress[] = [];
    const got = await fetchInputs(
      [
        { name: 'a', url: url('/flaky'), sha256: SHA },
        { name: 'b', url: url('/throttled') },
      ],
      opts({ concurrency: 1, onProgress: (e) => e.kind === 'retry' && retries.push(e) }),
    );
    expect(got.map((g) => [g.name, g.source, g.attempts, g.digest])).toEqual([
      ['a', 'network', 2, `sha256:${SHA}`],
      ['b', 'network', 2, `sha256:${SHA}`],
    ]);
    expect(retries).toEqual([
      { kind: 'retry', name: 'a', attempt: 1, delayMs: expect.any(Number), reason: `HTTP 503 Service Unavailable from ${url('/flaky')}` },
      // Retry-After: 0 is honoured instead of the backoff
      { kind: 'retry', name: 'b', attempt: 1, delayMs: 0, reason: `HTTP 429 Too Many Requests from ${url('/throttled')}` },
    ]);
    expect(await casFiles()).toEqual({ blobs: [SHA], tmp: [] });
  });

  it('refuses content over maxBytes, by Content-Length or by counting', async () => {
    const byHeader = await failure(fetchInputs([input('/zlib-1.3.tar.gz')], opts({ maxBytes: 1000 })), 'FETCH_FAILED');
    expect(byHeader.message).toBe(`input zlib-src: ${url('/zlib-1.3.tar.gz')} is too large: the limit is 1000 bytes, it sends 4096 bytes`);
    const byCount = await failure(fetchInputs([input('/chunked')], opts({ maxBytes: 1000 })), 'FETCH_FAILED');
    expect(byCount.message).toBe(`input zlib-src: ${url('/chunked')} is too large: the limit is 1000 bytes, it sends more than that`);
    expect(hits.get('/chunked')).toBe(1);
    expect(await casFiles()).toEqual({ blobs: [], tmp: [] });
  });

  it('offline: a pinned input in the CAS is served without the network', async () => {
    await cas.put(CONTENT);
    const [got] = await fetchInputs([input('/zlib-1.3.tar.gz', SHA)], opts({ offline: true }));
    expect(got).toMatchObject({ source: 'cache', attempts: 0, size: CONTENT.length });
    expect(hits.size).toBe(0);
  });

  it('offline: a miss names every input and digest, and touches no network', async () => {
    const lock: InputsLock = { lockVersion: 1, inputs: { b: { url: url('/zlib-1.3.tar.gz'), sha256: SHA, size: 4096 } } };
    const e = await failure(
      fetchInputs(
        [
          { name: 'a', url: url('/zlib-1.3.tar.gz'), sha256: OTHER_SHA },
          { name: 'b', url: url('/zlib-1.3.tar.gz') },
          { name: 'c', url: url('/zlib-1.3.tar.gz') },
        ],
        opts({ offline: true, lock }),
      ),
      'FETCH_OFFLINE_MISS',
    );
    expect(e.message).toBe(
      `offline: 3 inputs are not available: a (sha256:${OTHER_SHA} is not in the CAS); b (sha256:${SHA} is not in the CAS); ` +
        'c (not pinned, so it can only be learned by downloading it); run `airlock fetch` with network first',
    );
    expect(e.details.missing).toEqual([
      { name: 'a', digest: `sha256:${OTHER_SHA}` },
      { name: 'b', digest: `sha256:${SHA}` },
      { name: 'c', digest: null },
    ]);
    expect(hits.size).toBe(0);
    expect(await casFiles()).toEqual({ blobs: [], tmp: [] });
  });

  it('frozen: refuses unpinned inputs (and a lock entry for another URL) before any download', async () => {
    const lock: InputsLock = { lockVersion: 1, inputs: { old: { url: url('/zlib-1.2.tar.gz'), sha256: SHA, size: 4096 } } };
    const e = await failure(
      fetchInputs(
        [
          { name: 'pinned', url: url('/zlib-1.3.tar.gz'), sha256: SHA },
          { name: 'zlib-src', url: url('/zlib-1.3.tar.gz') },
          { name: 'old', url: url('/zlib-1.3.tar.gz') },
        ],
        opts({ frozen: true, lock }),
      ),
      'FETCH_NOT_PINNED',
    );
    expect(e.message).toBe(
      'frozen: 2 inputs are not pinned: zlib-src (no sha256 in airlock.yaml, no entry in inputs.lock.json); ' +
        `old (inputs.lock.json pins it for ${url('/zlib-1.2.tar.gz')}, not the spec's URL); run \`airlock lock\` or add sha256 to the spec`,
    );
    expect(e.details.inputs).toEqual(['zlib-src', 'old']);
    expect(hits.size).toBe(0);
    expect(await casFiles()).toEqual({ blobs: [], tmp: [] });
  });

  it('refuses a spec pin that disagrees with the lock, naming both', async () => {
    const lock: InputsLock = { lockVersion: 1, inputs: { 'zlib-src': { url: url('/zlib-1.3.tar.gz'), sha256: OTHER_SHA, size: 14 } } };
    const e = await failure(fetchInputs([input('/zlib-1.3.tar.gz', SHA)], opts({ lock })), 'FETCH_HASH_MISMATCH');
    expect(e.message).toBe(
      `input zlib-src: airlock.yaml pins sha256:${SHA} but inputs.lock.json pins sha256:${OTHER_SHA}; ` +
        "fix the spec's sha256 or run `airlock lock` after removing the stale lock entry",
    );
    expect(e.details).toMatchObject({ reason: 'pin-conflict' });
    expect(hits.size).toBe(0);
    expect(await casFiles()).toEqual({ blobs: [], tmp: [] });
  });

  it('uses the lock pin when the spec has none, and says where a mismatching pin came from', async () => {
    const lock: InputsLock = { lockVersion: 1, inputs: { 'zlib-src': { url: url('/zlib-1.3.tar.gz'), sha256: OTHER_SHA, size: 14 } } };
    const e = await failure(fetchInputs([input('/zlib-1.3.tar.gz')], opts({ lock })), 'FETCH_HASH_MISMATCH');
    expect(e.message).toMatch(/expected sha256:[0-9a-f]{64}; nothing was stored \(the pin comes from inputs\.lock\.json\)$/);
    expect(await casFiles()).toEqual({ blobs: [], tmp: [] });
  });

  it('refuses credentials and non-http URLs in the spec without connecting', async () => {
    const e = await failure(
      fetchInputs(
        [
          { name: 'a', url: `http://user:hunter2@127.0.0.1:${new URL(base).port}/zlib-1.3.tar.gz`, sha256: SHA },
          { name: 'b', url: 'file:///etc/passwd' },
        ],
        opts(),
      ),
      'SPEC_INVALID',
    );
    expect(e.message).toContain('inputs[0].url: http://***@127.0.0.1');
    expect(e.message).toContain('carries credentials');
    expect(e.message).toContain('inputs[1].url: file:///etc/passwd uses file:, only http and https are fetched');
    expect(e.message).not.toContain('hunter2');
    expect(hits.size).toBe(0);
  });

  it('stops on abort with the caller reason and cleans up', async () => {
    const ac = new AbortController();
    const p = fetchInputs([input('/stall', SHA)], opts({ signal: ac.signal, timeoutMs: 10_000 }));
    setTimeout(() => ac.abort(new Error('user pressed ^C')), 200);
    await expect(p).rejects.toThrow('user pressed ^C');
    expect(await casFiles()).toEqual({ blobs: [], tmp: [] });
  });
});
