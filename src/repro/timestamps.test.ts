import { describe, expect, it } from 'vitest';

import { findTimestamps, inWindows, zoneOffsetMs } from './timestamps.js';

const WINDOW = [{ start: Date.parse('2026-11-21T21:03:00Z'), end: Date.parse('2026-11-21T21:03:20Z') }];
const DAY = Date.parse('2026-11-21T00:00:00Z');

const found = (s: string, zones: string[] = []): [string, string, boolean][] =>
  findTimestamps(s, zones, [DAY]).map((t) => [t.text, t.format, inWindows(t, WINDOW)]);

describe('findTimestamps', () => {
  it('recognises the usual formats, each once, and checks them against the windows', () => {
    expect(found('a 2026-11-21T21:03:11Z b 2026-11-21 21:03:11.123+00:00 c 2026-11-21T22:03:11+01:00 d 2026-11-21T21:09:00Z')).toEqual([
      ['2026-11-21T21:03:11Z', 'ISO 8601', true],
      ['2026-11-21 21:03:11.123+00:00', 'ISO 8601', true],
      ['2026-11-21T22:03:11+01:00', 'ISO 8601', true],
      ['2026-11-21T21:09:00Z', 'ISO 8601', false],
    ]);
    expect(found('Sat Nov 21 21:03:11 UTC 2026 | Sat, 21 Nov 2026 21:03:11 +0000 | Nov 21 2026 21:03:11')).toEqual([
      ['Sat Nov 21 21:03:11 UTC 2026', 'date(1)', true],
      ['Sat, 21 Nov 2026 21:03:11 +0000', 'RFC 2822', true],
      ['Nov 21 2026 21:03:11', '__DATE__/__TIME__', true],
    ]);
    expect(found('t=1795294991 ms=1795294991123 c=20261121210311 v=1.2.1795294991')).toEqual([
      ['1795294991', 'epoch seconds', true],
      ['1795294991123', 'epoch milliseconds', true],
      ['20261121210311', 'YYYYMMDDHHMMSS', true],
    ]);
  });

  it('a date alone covers its whole day; a time alone is matched against the days of the runs', () => {
    expect(found('released 2026-11-21, at 21:03:11')).toEqual([
      ['2026-11-21', 'ISO 8601', true],
      ['21:03:11', '__DATE__/__TIME__', true],
    ]);
    expect(found('2026-11-20 and 04:00:00')).toEqual([
      ['2026-11-20', 'ISO 8601', false],
      ['04:00:00', '__DATE__/__TIME__', false],
    ]);
  });

  it("C's __DATE__ pads a one-digit day with a space; __TIME__ stands alone in its own string", () => {
    // what `strings` shows for puts(__DATE__); puts(__TIME__); built on 2 Dec 2026 at 04:15:14 UTC
    const window = [{ start: Date.parse('2026-12-02T04:15:00Z'), end: Date.parse('2026-12-02T04:15:30Z') }];
    const day = Date.parse('2026-12-02T00:00:00Z');
    expect(findTimestamps('Dec  2 2026\n04:15:14\nhello', [], [day]).map((t) => [t.text, t.format, inWindows(t, window)])).toEqual([
      ['Dec  2 2026', '__DATE__/__TIME__', true],
      ['04:15:14', '__DATE__/__TIME__', true],
    ]);
    expect(findTimestamps('Dec  3 2026', [], [day]).map((t) => inWindows(t, window))).toEqual([false]);
  });

  it('reads zone-less wall-clock times in the zones the runs used', () => {
    // 22:03:11 in Berlin is 21:03:11Z
    expect(found('built 2026-11-21 22:03:11')[0]![2]).toBe(false);
    expect(found('built 2026-11-21 22:03:11', ['Europe/Berlin'])[0]![2]).toBe(true);
    expect(zoneOffsetMs('Europe/Berlin', Date.parse('2026-07-01T12:00:00Z'))).toBe(2 * 3600_000);
    expect(zoneOffsetMs('No/Such_Zone', 0)).toBe(0);
  });

  it('leaves version numbers and sizes alone', () => {
    expect(found('zlib-1.3.1 size 4096 build 42 commit 1234567')).toEqual([]);
  });
});
