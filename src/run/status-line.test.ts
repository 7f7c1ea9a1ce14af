import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fitLine, statusLine } from './status-line.js';

/** Terminal columns of plain text: CJK ideographs and fullwidth forms take two (all these tests use). */
function columnsOf(s: string): number {
  return [...stripVTControlCharacters(s)].reduce((n, ch) => n + (/[\u4e00-\u9fff\uff01-\uff60]/.test(ch) ? 2 : 1), 0);
}

describe('fitLine: one row of the terminal, never wrapped', () => {
  it('leaves a short line alone', () => {
    expect(fitLine('cells: 1 running · 2s', 80)).toBe('cells: 1 running · 2s');
  });

  it('cuts a long line to one column less than the width, ending in …', () => {
    const out = fitLine('x'.repeat(200), 40);
    expect(columnsOf(out)).toBe(39);
    expect(out.endsWith('…')).toBe(true);
  });

  it('counts wide characters as two columns', () => {
    const line = `cells: ${'構建'.repeat(30)}`;
    for (const width of [10, 11, 20, 33]) {
      const out = fitLine(line, width);
      expect(columnsOf(out), `${width}: ${out}`).toBeLessThanOrEqual(width - 1);
      expect(columnsOf(out)).toBeGreaterThanOrEqual(width - 2);
    }
  });

  it('does not count ANSI styles, keeps them and closes them after the cut', () => {
    const bold = `\x1b[1m${'a'.repeat(50)}\x1b[22m`;
    const out = fitLine(bold, 21);
    expect(columnsOf(out)).toBe(20);
    expect(out.startsWith('\x1b[1m')).toBe(true);
    expect(out).toContain('\x1b[22m');
    // a styled line that fits is returned as it is
    expect(fitLine('\x1b[1mshort\x1b[22m', 21)).toBe('\x1b[1mshort\x1b[22m');
  });

  it('flattens newlines and falls back to 80 columns when the stream has none', () => {
    expect(fitLine('a\nb', 80)).toBe('a b');
    expect(columnsOf(fitLine('y'.repeat(500), undefined))).toBe(79);
    expect(columnsOf(fitLine('y'.repeat(500), 0))).toBe(79);
  });
});

describe('statusLine', () => {
  function fakeTerminal(columns: number) {
    const writes: string[] = [];
    const stream = { isTTY: true, columns, rows: 24, write: (s: string) => void writes.push(s) } as unknown as NodeJS.WriteStream;
    return { stream, writes };
  }

  it('draws the line fitted to the columns and erases it on clear', () => {
    const { stream, writes } = fakeTerminal(30);
    const line = statusLine(stream);
    line.show(`cells: 2 running │ ${'test[opt=-O2] step 1 3.2s · '.repeat(5)}`);
    expect(line.shown).toBe(true);
    const drawn = stripVTControlCharacters(writes.join('')).split('\n').filter(Boolean);
    expect(drawn).toHaveLength(1);
    expect(columnsOf(drawn[0]!)).toBe(29);
    writes.length = 0;
    line.clear();
    expect(line.shown).toBe(false);
    // log-update erases the rows it drew: erase-line (ESC [2K) and cursor-up codes, no text
    expect(writes.join('')).toContain('\x1b[2K');
    expect(stripVTControlCharacters(writes.join(''))).toBe('');
    writes.length = 0;
    line.clear();
    expect(writes).toEqual([]);
  });
});
