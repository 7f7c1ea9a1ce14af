import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestHex, sha256Digest } from '../util/digest.js';
import { renderHtml } from './html.js';
import { sampleRun } from './testing/sample-run.js';
import type { ReportCell, ReportRun } from './types.js';

const count = (html: string, re: RegExp) => html.match(new RegExp(re.source, 'g'))?.length ?? 0;
const statuses = (html: string) => [...html.matchAll(/data-testid="cell" data-status="(\w+)"/g)].map((m) => m[1]);

function cell(id: string, values: Record<string, unknown>, status: ReportCell['status'] = 'passed'): ReportCell {
  return { id, cell: values, status, durationMs: 10, cached: status === 'cached', steps: [] };
}

describe('renderHtml', () => {
  const run = sampleRun();
  const html = renderHtml(run);

  it('shows every cell once, with its status as an attribute and as text', () => {
    expect(count(html, /data-testid="cell" data-status=/)).toBe(12);
    const s = statuses(html);
    expect(s.filter((x) => x === 'failed')).toHaveLength(3);
    expect(s.filter((x) => x === 'cached')).toHaveLength(4);
    expect(s.filter((x) => x === 'passed')).toHaveLength(5);
    expect(html).toContain('<span aria-hidden="true">✘</span> failed');
    expect(count(html, /<span class="badge"[^>]*>cache hit<\/span>/)).toBe(4);
  });

  it('lays the matrix out as grids: first axis rows, second columns, one table per value of the third', () => {
    expect(count(html, /<table class="grid"/)).toBe(2);
    expect(html).toContain('<h2 id="grid-0">arch=x64</h2>');
    expect(html).toContain('<h2 id="grid-1">arch=arm64</h2>');
    expect(html).toContain('<tr><th scope="col">cc \\ opt</th><th scope="col"><code>-O0</code></th><th scope="col"><code>-O2</code></th><th scope="col"><code>-O3</code></th></tr>');
    expect(count(html, /<th scope="row"><code>(gcc|clang)<\/code><\/th>/)).toBe(4);
    expect(html).toContain('<code>experimental=true</code>');
  });

  it('states run, spec, verdict and bundle verification in the header', () => {
    expect(html).toContain('<h1>airlock run <code>20250102T030405Z-12345678</code></h1>');
    expect(html).toContain('<span class="verdict v-failed" data-testid="verdict">failed</span>');
    expect(html).toContain('✔ signature verified (key <code>ed25519:abcdef0123456789</code>)');
    const failed: ReportRun = { ...run, bundle: { dir: 'p', verified: false, problem: 'SIGNATURE_INVALID: bad sig' } };
    expect(renderHtml(failed)).toContain('✘ verification failed: SIGNATURE_INVALID: bad sig');
    expect(renderHtml({ ...run, bundle: { dir: 'p/x', verified: null } })).toContain('not verified here (<code>airlock verify p/x</code>)');
  });

  it('links each step log into the CAS and shows bounded excerpts and failure diffs', () => {
    const out = run.cells[0]!.steps[0]!.stdout!;
    expect(html).toContain(`<a href="../../artifacts/blobs/sha256/${digestHex(out.digest)}" title="${out.digest}">stdout</a>`);
    expect(renderHtml(run, { blobBase: 'blobs/' })).toContain(`<a href="blobs/${digestHex(out.digest)}"`);
    expect(html).toContain('<details class="failure" open><summary>stdout: stdout does not equal the expected text</summary><pre>--- expected/stdout');
    expect(html).toContain('+sum=11 &lt;&amp;&gt;');
    const long: ReportRun = structuredClone(run);
    long.cells[0]!.steps[0]!.stdout = { digest: sha256Digest('x'), size: 10_000, excerpt: 'y'.repeat(10_000) };
    const bounded = renderHtml(long, { maxExcerptChars: 500 });
    expect(bounded).toContain('stdout excerpt (500 B of 9.8 KiB)');
    expect(bounded).not.toContain('y'.repeat(501));
  });

  it('escapes everything that comes from the run and drops control characters', () => {
    const evil: ReportRun = structuredClone(run);
    evil.spec = '<img src=x onerror=alert(1)>';
    evil.cells[0]!.id = '"><script>alert(1)</script>';
    evil.cells[0]!.steps[0]!.stdout!.excerpt = '</pre></details><script>alert(2)</script>\u0000\u001b[31mred';
    const page = renderHtml(evil);
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<script>alert');
    expect(page).toContain('&lt;/pre&gt;&lt;/details&gt;&lt;script&gt;alert(2)&lt;/script&gt;red');
    expect(count(page, /<script>/)).toBe(1);
    expect(page).not.toMatch(/[\u0000\u001b]/);
  });

  it('is self-contained: no external resource, a CSP that allows only its own script and style', () => {
    expect(html).not.toMatch(/\b(src|srcset)=/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<link\b/);
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const hash = (s: string) => `sha256-${createHash('sha256').update(s).digest('base64')}`;
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)![1]!.replace(/&#39;/g, "'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src '${hash(script)}'`);
    expect(csp).toContain(`style-src '${hash(style)}'`);
    expect(html).not.toMatch(/\sstyle=|\son\w+=/);
  });

  it('uses table semantics: caption, column and row headers', () => {
    expect(count(html, /<caption>rows: cc, columns: opt<\/caption>/)).toBe(2);
    expect(html).toContain('role="group" aria-label="arch=x64,cc=gcc,opt=-O3: failed"');
    expect(html).toContain('<noscript><p>12 cells: 5 passed, 4 cached, 3 failed</p></noscript>');
  });

  it('renders a run without a matrix as a single-row grid', () => {
    const plain: ReportRun = { ...run, axes: [], cells: [{ ...run.cells[0]!, id: 'smoke', cell: {} }] };
    const page = renderHtml(plain);
    expect(count(page, /<table class="grid"/)).toBe(1);
    expect(count(page, /<tr>/)).toBe(2);
    expect(page).toContain('<th scope="col"><code>smoke</code></th>');
    expect(count(page, /data-testid="cell" data-status=/)).toBe(1);
  });

  it('handles one axis, environments, and cells missing an axis (include-added)', () => {
    const one: ReportRun = { ...run, axes: ['os'], cells: [cell('os=linux', { os: 'linux' }), cell('os=mac', { os: 'mac' }, 'failed')] };
    const page = renderHtml(one);
    expect(page).toContain('<tr><th scope="col">os</th><th scope="col"><code>linux</code></th><th scope="col"><code>mac</code></th></tr>');
    expect(count(page, /<tr>/)).toBe(2);

    const envs: ReportRun = {
      ...run,
      axes: ['fruit', 'animal'],
      cells: [
        { ...cell('a', { fruit: 'apple', animal: 'cat' }), env: 'build' },
        { ...cell('b', { fruit: 'banana' }, 'skipped'), env: 'build' },
        { ...cell('c', { fruit: 'apple', animal: 'cat' }), env: 'test' },
      ],
    };
    const p2 = renderHtml(envs);
    expect(p2).toContain('<h2 id="grid-0">build</h2>');
    expect(p2).toContain('<h2 id="grid-1">test</h2>');
    expect(p2).toContain('<th scope="col"><span class="meta">(not set)</span></th>');
    expect(count(p2, /<td class="empty">no cell<\/td>/)).toBe(2);
  });
});
