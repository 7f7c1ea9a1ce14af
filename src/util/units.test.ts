import { describe, expect, it } from 'vitest';
import { DURATION_PATTERN, SIZE_PATTERN, formatDuration, formatSize, parseDuration, parseSize } from './units.js';

describe('parseDuration', () => {
  it.each([
    ['300s', 300_000],
    ['5m', 300_000],
    ['1500ms', 1_500],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5s', 1_500],
    ['1.1s', 1_100],
    ['0.5ms', undefined],
    ['0s', 0],
  ])('%s → %s ms', (text, ms) => {
    if (ms === undefined) expect(() => parseDuration(text)).toThrow(/whole number of milliseconds/);
    else expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '30', '5 m', ' 5m', '5M', '5d', 'm', '1.s', '-5s', '5s ', 'five minutes'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(RangeError);
    expect(() => parseDuration(text)).toThrow(/expected a duration like "30s", "5m", "1500ms" or "1h"/);
  });

  it('says a bare number needs a unit', () => {
    expect(() => parseDuration('30')).toThrow('expected a duration like "30s", "5m", "1500ms" or "1h" (a unit is required), got "30"');
  });

  it('has a JSON Schema pattern that agrees with the parser', () => {
    const re = new RegExp(DURATION_PATTERN);
    for (const ok of ['300s', '1m30s', '1500ms']) expect(re.test(ok), ok).toBe(true);
    for (const bad of ['30', '5d', '5 m']) expect(re.test(bad), bad).toBe(false);
  });
});

describe('formatDuration', () => {
  it.each([
    [300_000, '5m'],
    [30_000, '30s'],
    [3_600_000, '1h'],
    [1_500, '1500ms'],
    [0, '0ms'],
  ])('%d → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('parseSize', () => {
  it.each([
    ['512m', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['64k', 65_536],
    ['1048576', 1_048_576],
    ['1048576b', 1_048_576],
    ['512M', 512 * 1024 ** 2],
    ['512mb', 512 * 1024 ** 2],
    ['512MiB', 512 * 1024 ** 2],
    ['1 g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['2t', 2 * 1024 ** 4],
    ['0.1k', 102],
  ] as const)('%s → %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it('takes a number as bytes', () => {
    expect(parseSize(1_048_576)).toBe(1_048_576);
    expect(() => parseSize(-1)).toThrow('expected a whole number of bytes, got -1');
    expect(() => parseSize(1.5)).toThrow(/whole number of bytes/);
  });

  it.each(['', 'm', '512x', '-1m', '1ib', '1.g', '512 mb ', '1e6', 'lots'])('rejects %j', (text) => {
    expect(() => parseSize(text)).toThrow(RangeError);
    expect(() => parseSize(text)).toThrow(`expected a size like "512m", "1g", "64k" or a number of bytes, got ${JSON.stringify(text)}`);
  });

  it('rejects sizes beyond a safe integer', () => {
    expect(() => parseSize('99999999p')).toThrow(/too large/);
  });

  it('has a JSON Schema pattern that agrees with the parser', () => {
    const re = new RegExp(SIZE_PATTERN);
    for (const ok of ['512m', '1 GiB', '1048576', '10b']) {
      expect(re.test(ok), ok).toBe(true);
      expect(() => parseSize(ok)).not.toThrow();
    }
    for (const bad of ['512x', '1ib', 'm']) expect(re.test(bad), bad).toBe(false);
  });
});

describe('formatSize', () => {
  it.each([
    [512 * 1024 ** 2, '512m'],
    [1024 ** 3, '1g'],
    [1536, '1536'],
    [65_536, '64k'],
    [1000, '1000'],
  ])('%d → %s', (bytes, text) => expect(formatSize(bytes)).toBe(text));
});
