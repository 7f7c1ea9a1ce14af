import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Digest } from '../util/digest.js';
import { canonicalJson } from './canonical-json.js';
import { collectBlobRefs, lineDigest, parseTranscript, TranscriptWriter, verifyChain } from './transcript.js';

const BLOB = { digest: sha256Digest('out'), size: 3 } as const;

function clock(): () => Date {
  let t = Date.UTC(2025, 0, 1);
  return () => new Date((t += 1000));
}

describe('transcript', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlock-transcript-'));
    path = join(dir, 'transcript.jsonl');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write3(): Promise<{ text: string; lines: string[]; head: string | null }> {
    const w = TranscriptWriter.open(path, { now: clock() });
    w.append('run', { runId: 'r1' });
    w.append('step', { argv: ['make'], exitCode: 0, stdout: BLOB });
    w.append('teardown', { removed: 1 });
    w.close();
    const text = await readFile(path, 'utf8');
    return { text, lines: text.split('\n').slice(0, -1), head: w.head };
  }

  it('writes canonical lines linked by the digest of the previous line', async () => {
    const { text, lines, head } = await write3();
    expect(lines).toHaveLength(3);
    const events = parseTranscript(text);
    expect(events.map((e) => [e.seq, e.phase])).toEqual([
      [0, 'run'],
      [1, 'step'],
      [2, 'teardown'],
    ]);
    expect(events[0]).toEqual({ seq: 0, time: '2025-01-01T00:00:01.000Z', phase: 'run', data: { runId: 'r1' }, prev: null });
    expect(events[1]!.prev).toBe(sha256Digest(lines[0]!));
    expect(events[2]!.prev).toBe(lineDigest(lines[1]!));
    lines.forEach((l, i) => expect(l).toBe(canonicalJson(events[i])));
    expect(head).toBe(lineDigest(lines[2]!));
    expect(verifyChain(text)).toMatchObject({ head, count: 3 });
    expect(verifyChain(events).head).toBe(head);
  });

  it('appends whole lines as it goes, before close', async () => {
    const w = TranscriptWriter.open(path);
    w.append('run', { a: 1 });
    const first = await readFile(path, 'utf8');
    expect(first.endsWith('\n')).toBe(true);
    expect(parseTranscript(first)).toHaveLength(1);
    w.close();
    w.close();
    expect(() => w.append('run', {})).toThrow(/closed/);
  });

  it('never reopens an existing transcript', async () => {
    await write3();
    expect(() => TranscriptWriter.open(path)).toThrow(/EEXIST/);
  });

  it('refuses data that is not a JSON object', () => {
    const w = TranscriptWriter.open(path);
    expect(() => w.append('step', [] as unknown as object)).toThrow();
    expect(() => w.append('step', { n: NaN })).toThrow(/not finite/);
    expect(w.count).toBe(0);
    w.close();
  });

  it('CHAIN_BROKEN at the next seq when a field inside data is edited', async () => {
    const { text } = await write3();
    const edited = text.replace('"exitCode":0', '"exitCode":1');
    expect(edited).not.toBe(text);
    expect(() => verifyChain(edited)).toThrow(
      expect.objectContaining({ code: 'TRANSCRIPT_CHAIN_BROKEN', details: expect.objectContaining({ seq: 2, field: 'prev' }) }),
    );
  });

  it('CHAIN_BROKEN on a removed or reordered line, naming seq', async () => {
    const { lines } = await write3();
    const dropped = [lines[0], lines[2]].map((l) => `${l}\n`).join('');
    expect(() => verifyChain(dropped)).toThrow(
      expect.objectContaining({ code: 'TRANSCRIPT_CHAIN_BROKEN', details: expect.objectContaining({ seq: 1, field: 'seq' }) }),
    );
    const dropFirst = [lines[1], lines[2]].map((l) => `${l}\n`).join('');
    expect(() => verifyChain(dropFirst)).toThrow(expect.objectContaining({ details: expect.objectContaining({ seq: 0, field: 'seq' }) }));
  });

  it('accepts a forged event appended with a correct link (only the signed digest catches that)', async () => {
    const { text, head } = await write3();
    const forged = canonicalJson({ seq: 3, time: '2025-01-01T00:00:09.000Z', phase: 'step', data: {}, prev: head });
    expect(verifyChain(`${text}${forged}\n`).count).toBe(4);
  });

  it.each([
    ['a line that is not JSON', (t: string) => t.replace('{"data"', '{"data"x'), 1],
    ['a partial last line', (t: string) => t.slice(0, -5), 3],
    ['an empty line', (t: string) => `${t}\n`, 4],
    ['a non-canonical line', (t: string) => t.replace('{"data":{"runId":"r1"}', '{"data":{ "runId":"r1"}'), 1],
    ['a missing field', (t: string) => t.replace(',"phase":"run"', ''), 1],
    ['an extra field', (t: string) => t.replace('{"data":{"runId":"r1"}', '{"data":{"runId":"r1"},"extra":1'), 1],
    ['a bad time', (t: string) => t.replace('2025-01-01T00:00:01.000Z', 'yesterday'), 1],
    ['a bad prev', (t: string) => t.replace(/"prev":"sha256:[0-9a-f]+"/, '"prev":"md5:00"'), 2],
  ])('TRANSCRIPT_MALFORMED on %s, with the line number', async (_, edit, line) => {
    const { text } = await write3();
    expect(() => verifyChain(edit(text))).toThrow(
      expect.objectContaining({ code: 'TRANSCRIPT_MALFORMED', details: expect.objectContaining({ line }) }),
    );
  });

  it('parses an empty transcript as no events', () => {
    expect(verifyChain('')).toEqual({ head: null, count: 0, events: [] });
  });

  it('collects every { digest, size } object anywhere in data', () => {
    const events = [
      { seq: 0, time: 't', phase: 'step', prev: null, data: { stdout: BLOB, nested: [{ deep: { digest: sha256Digest('x'), size: 1 } }] } },
      { seq: 1, time: 't', phase: 'image', prev: null, data: { rootfsDigest: sha256Digest('y'), digest: 'sha256:short', size: 1 } },
    ];
    expect(collectBlobRefs(events)).toEqual([
      { ...BLOB, seq: 0 },
      { digest: sha256Digest('x'), size: 1, seq: 0 },
    ]);
  });
});
