import { stripVTControlCharacters } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CellTally, colorEnabled, humanReporter, liveStatusEnabled } from './reporter.js';

describe('colorEnabled: Node’s rule for NO_COLOR and FORCE_COLOR', () => {
  it.each([
    // [env, isTTY, colours]
    [{}, true, true],
    [{}, false, false],
    [{ NO_COLOR: '1' }, true, false],
    [{ NO_COLOR: '0' }, true, false], // any non-empty value (no-color.org)
    [{ NO_COLOR: '' }, true, true], // empty is unset
    [{ TERM: 'dumb' }, true, false],
    [{ FORCE_COLOR: '1' }, false, true], // forced on a pipe too
    [{ FORCE_COLOR: '2' }, false, true],
    [{ FORCE_COLOR: '3' }, false, true],
    [{ FORCE_COLOR: 'true' }, false, true],
    [{ FORCE_COLOR: '' }, false, true],
    [{ FORCE_COLOR: '1', NO_COLOR: '1' }, false, true], // FORCE_COLOR wins, as in Node
    [{ FORCE_COLOR: '1', TERM: 'dumb' }, false, true],
    [{ FORCE_COLOR: '0' }, true, false],
    [{ FORCE_COLOR: 'false' }, true, false],
    [{ FORCE_COLOR: 'yes' }, true, false], // any other value disables, as in Node
  ] as [NodeJS.ProcessEnv, boolean, boolean][])('%j on a %s terminal → %s', (env, tty, colours) => {
    expect(colorEnabled(env, tty)).toBe(colours);
  });
});

describe('liveStatusEnabled: only on a terminal, outside CI', () => {
  it.each([
    [{}, true, true],
    [{}, false, false],
    [{ FORCE_COLOR: '1' }, false, false], // colours on a pipe, but plain lines
    [{ CI: 'true' }, true, false],
    [{ CI: '1' }, true, false],
    [{ CI: 'false' }, true, true],
    [{ TERM: 'dumb' }, true, false],
  ] as [NodeJS.ProcessEnv, boolean, boolean][])('%j on a %s terminal → %s', (env, tty, live) => {
    expect(liveStatusEnabled(env, tty)).toBe(live);
  });
});

describe('CellTally: what the status line says', () => {
  it('counts cells and names what each running one does since when', () => {
    const t = new CellTally(0);
    for (const cell of ['a', 'b', 'c']) t.note({ type: 'cell-queued', cell }, 0);
    expect(t.line(1000)).toBe('cells: 3 queued · 0 running · 1s');
    t.note({ type: 'cell-started', cell: 'a' }, 1000);
    t.note({ type: 'cell-started', cell: 'b' }, 1000);
    expect(t.line(1500)).toBe('cells: 1 queued · 2 running · 2s │ a starting 0.5s · b starting 0.5s');
    t.note({ type: 'env-started', env: 'a' }, 2000);
    t.note({ type: 'step-finished', env: 'a', verdict: 'pass' }, 3000);
    expect(t.line(4200)).toBe('cells: 1 queued · 2 running · 4s │ a step 2 1.2s · b starting 3.2s');
    t.note({ type: 'step-finished', env: 'a', verdict: 'fail' }, 5000);
    expect(t.line(5100)).toContain('a finishing 0.1s');
    t.note({ type: 'cell-finished', cell: 'a', status: 'failed' }, 6000);
    t.note({ type: 'cell-finished', cell: 'b', status: 'cached' }, 6000);
    expect(t.line(6000)).toBe('cells: 1 queued · 0 running · 1 cached · 1 failed · 6s');
    expect(t.pending).toBe(true);
    t.note({ type: 'cell-finished', cell: 'c', status: 'skipped' }, 6000);
    expect(t.pending).toBe(false);
  });

  it('names the running step when the steps are known, matrix cells by their environment', () => {
    const t = new CellTally(0);
    t.steps({ test: ['compile', 'check'] });
    t.note({ type: 'cell-started', cell: 'test[opt=-O2]' }, 0);
    t.note({ type: 'env-started', env: 'test[opt=-O2]' }, 1000);
    expect(t.line(1500)).toBe('cells: 1 running · 2s │ test[opt=-O2] compile 0.5s');
    t.note({ type: 'step-finished', env: 'test[opt=-O2]', verdict: 'pass' }, 2000);
    expect(t.line(2000)).toBe('cells: 1 running · 2s │ test[opt=-O2] check 0.0s');
    // past the last step: outputs and teardown
    t.note({ type: 'step-finished', env: 'test[opt=-O2]', verdict: 'pass' }, 3000);
    expect(t.line(3200)).toBe('cells: 1 running · 3s │ test[opt=-O2] finishing 0.2s');
  });

  it('ignores events that are not about cells', () => {
    const t = new CellTally(0);
    expect(t.note({ type: 'build-line', line: 'Step 1/2 : FROM x' }, 0)).toBe(false);
    expect(t.note({ type: 'step-finished', env: 'unknown', verdict: 'pass' }, 0)).toBe(false);
    expect(t.active).toBe(false);
  });
});

describe('humanReporter on a pipe', () => {
  function pipe() {
    const out: string[] = [];
    return { stream: { write: (s: string) => void out.push(s) } as unknown as NodeJS.WritableStream, text: () => out.join('') };
  }
  const events = [
    { type: 'cell-queued', cell: 'e' },
    { type: 'cell-started', cell: 'e' },
    { type: 'step-finished', env: 'e', step: 's', verdict: 'fail', exitCode: 1, durationMs: 100, failures: [{ message: 'exit 1, expected 0' }] },
    { type: 'cell-finished', cell: 'e', status: 'failed', durationMs: 200 },
  ];

  it('writes plain lines: no status line, no colours, no cursor movement', () => {
    const p = pipe();
    const r = humanReporter(p.stream, {});
    for (const e of events) r.event(e);
    r.close?.();
    expect(p.text()).toBe('    FAIL e/s (exit 1) 0.1s\n           exit 1, expected 0\n  cell   e FAILED 0.2s\n');
  });

  it('colours those lines with FORCE_COLOR, still without a status line', () => {
    const p = pipe();
    const r = humanReporter(p.stream, { FORCE_COLOR: '1' });
    for (const e of events) r.event(e);
    expect(p.text()).toContain('\x1b[31mFAIL\x1b[39m');
    expect(p.text()).not.toMatch(/\r|\x1b\[\d*[AK]|\x1b\[2K/);
  });

  it('NO_COLOR keeps the lines plain', () => {
    const p = pipe();
    const r = humanReporter(p.stream, { NO_COLOR: '1' });
    for (const e of events) r.event(e);
    expect(p.text()).not.toContain('\x1b[');
  });
});

describe('humanReporter on a terminal (fake clock: nothing is timed)', () => {
  afterEach(() => void vi.useRealTimers());

  it('keeps a status line below the lines, redraws it on the clock, fits it to the columns, and clears it', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'], now: 0 });
    const writes: string[] = [];
    const stream = { isTTY: true, columns: 40, rows: 24, write: (s: string) => void writes.push(s) } as unknown as NodeJS.WriteStream;
    const r = humanReporter(stream, {});
    r.event({ type: 'cell-queued', cell: 'matrix[opt=-O2,n=10000]' });
    r.event({ type: 'cell-started', cell: 'matrix[opt=-O2,n=10000]' });
    // the status line's libraries load on the first cell event
    await vi.dynamicImportSettled();
    const frames = () => stripVTControlCharacters(writes.join('')).split('\n').filter((l) => l.startsWith('cells:'));
    expect(frames().at(-1)).toMatch(/^cells: 1 running · 0s │ matrix\[opt=-O2?…$/);
    for (const f of frames()) expect(f.length).toBeLessThanOrEqual(39);
    // the clock alone redraws it
    writes.length = 0;
    vi.advanceTimersByTime(1000);
    expect(frames().at(-1)).toMatch(/^cells: 1 running · 1s │ matrix\[opt=-O2?…$/);
    // a line goes above it; the status line is drawn again below
    writes.length = 0;
    r.info('hello');
    const text = writes.join('');
    expect(text.indexOf('hello')).toBeLessThan(text.lastIndexOf('cells:'));
    // when no cell is left, it is erased and the clock stops
    r.event({ type: 'cell-finished', cell: 'matrix[opt=-O2,n=10000]', status: 'passed', durationMs: 1 });
    writes.length = 0;
    vi.advanceTimersByTime(5000);
    expect(writes).toEqual([]);
    r.close?.();
  });
});
