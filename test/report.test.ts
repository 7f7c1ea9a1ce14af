import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../src/report/html.js';
import { renderJunit } from '../src/report/junit.js';
import { sampleRun } from '../src/report/testing/sample-run.js';

const CHROMIUM = process.env.AIRLOCK_CHROMIUM ?? '/usr/bin/chromium';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-report-'));
  const probe = await execa(CHROMIUM, ['--version'], { reject: false });
  if (probe.exitCode !== 0) throw new Error(`${CHROMIUM} is needed (Debian: apt-get install -y --no-install-recommends chromium)`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The DOM after the page's own script ran, as headless Chromium serializes it. */
async function renderedDom(file: string): Promise<string> {
  const profile = await mkdtemp(join(dir, 'profile-'));
  const r = await execa(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      '--dump-dom',
      pathToFileURL(file).href,
    ],
    { timeout: 60_000, reject: false },
  );
  if (r.exitCode !== 0 || !r.stdout.includes('</html>')) throw new Error(`chromium --dump-dom failed (${r.exitCode}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

describe('the HTML report in a real browser', () => {
  it('renders the 12-cell grid and its script fills in the summary', async () => {
    const run = sampleRun();
    const file = join(dir, 'report.html');
    await writeFile(file, renderHtml(run));
    await writeFile(join(dir, 'junit.xml'), renderJunit(run));

    const dom = await renderedDom(file);
    const cells = [...dom.matchAll(/<div\b[^>]*\bdata-testid="cell"[^>]*>/g)].map((m) => m[0]);
    expect(cells).toHaveLength(12);
    const status = (tag: string) => /\bdata-status="(\w+)"/.exec(tag)?.[1];
    const byStatus = cells.reduce<Record<string, number>>((acc, tag) => ({ ...acc, [status(tag)!]: (acc[status(tag)!] ?? 0) + 1 }), {});
    expect(byStatus).toEqual({ passed: 5, cached: 4, failed: 3 });
    // Each cell's status in the DOM is the one the run gave it.
    for (const c of run.cells) {
      const tag = cells.find((t) => t.includes(`data-cell-id="${c.id}"`));
      expect(tag && status(tag), c.id).toBe(c.status);
    }

    // Written by the page's own script (the CSP hash let it run); empty in the source.
    expect(dom).toMatch(/<html lang="en" data-js="ready">/);
    const summary = /<p id="summary"[^>]*>([^<]*)<\/p>/.exec(dom);
    expect(summary?.[1]).toBe('12 cells: 5 passed, 4 cached, 3 failed');
    expect(summary?.[0]).toContain('data-total="12"');
    expect(summary?.[0]).toContain('data-failed="3"');
    expect(dom).not.toMatch(/<fieldset id="filters" hidden/);
  });
});
