import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestHex, sha256Digest } from '../util/digest.js';
import { renderHtml } from './html.js';
import { safeHref } from './html-parts.js';
import { MACHINE_ROOT, MACHINE_TMP } from './testing/events.js';
import { SANDBOXES, sampleRun } from './testing/sample-run.js';
import type { ReportCell, ReportRun } from './types.js';

const count = (html: string, re: RegExp) => html.match(new RegExp(re.source, 'g'))?.length ?? 0;
const hrefs = (html: string) => [...html.matchAll(/\shref="([^"]*)"/g)].map((m) => m[1]!);
/** The grid alone: no sandbox, output or base tables to count rows in. */
const bare = (run: ReportRun): ReportRun => ({ ...run, bases: [], cells: run.cells.map(({ enforcement: _e, outputs: _o, image: _i, ...c }) => c) });
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

  it('states run, spec and verdict in the header, the bundle by its path in the project', () => {
    expect(html).toContain('<h1>airlock run <code>20250102T030405Z-12345678</code></h1>');
    expect(html).toContain('<span class="verdict v-failed" data-testid="verdict">failed</span>');
    expect(html).toContain('<dt>Bundle</dt><dd><code>proofs/20250102T030405Z-12345678</code>: the folder of this page</dd>');
  });

  it('states the verification as a dated fact, never as a bare claim, and says how to check it yourself', () => {
    expect(html).not.toMatch(/signature verified|✔ signature/i);
    expect(html).toContain(
      'Checked on <time datetime="2025-01-02T03:05:29.000Z">2025-01-02T03:05:29.000Z</time> by airlock 0.0.0-test, in the command that sealed the run, with the checks of <code>airlock verify</code>',
    );
    expect(html).toContain('the signature is valid, made by key <code>abcdef0123456789</code>, and every check passed.');
    expect(html).toContain('This page is not signed: it reports a check, it proves nothing by itself.');
    expect(html).toContain('<code data-testid="verify-command">airlock verify .</code> (from the project root: <code>airlock verify proofs/20250102T030405Z-12345678</code>)');
    expect(html).toContain("<code>airlock verify . --key abcdef0123456789.pub.pem</code> with the file from the project's <code>locks/keys/</code>, and the blobs: <code>airlock export</code> makes a copy that carries them.");

    const failed: ReportRun = { ...run, bundle: { ...run.bundle, verified: false, code: 'SIGNATURE_INVALID', problem: '[SIGNATURE_INVALID] bad sig' } };
    const f = renderHtml(failed);
    expect(f).toContain('verification failed <code>[SIGNATURE_INVALID]</code>: [SIGNATURE_INVALID] bad sig.');
    expect(f).not.toContain('signature is valid');
    expect(f).toContain('data-testid="verify-command">airlock verify .</code>');

    const unchecked = renderHtml({ ...run, bundle: { dir: 'proofs/x', verified: null } });
    expect(unchecked).toContain('<p class="vf-none" data-testid="verified" data-verified="unchecked">Not checked when this page was written.</p>');
    expect(unchecked).not.toContain('Checked on');
    expect(unchecked).toContain('<code>airlock verify . --key &lt;keyid&gt;.pub.pem</code>');
  });

  it('links each step log to its copy beside the page and shows bounded excerpts and failure diffs', () => {
    const out = run.cells[0]!.steps[0]!.stdout!;
    expect(html).toContain(`<a href="report-files/sha256/${digestHex(out.digest)}" title="${out.digest}">stdout</a>`);
    const { href: _drop, ...noCopy } = out;
    const unlinked = structuredClone(run);
    unlinked.cells[0]!.steps[0]!.stdout = noCopy;
    expect(renderHtml(unlinked)).toContain(`<span title="${out.digest} (no copy beside this page)">stdout</span>`);
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
    const plain: ReportRun = bare({ ...run, axes: [], cells: [{ ...run.cells[0]!, id: 'smoke', cell: {} }] });
    const page = renderHtml(plain);
    expect(count(page, /<table class="grid"/)).toBe(1);
    expect(count(page, /<tr>/)).toBe(2);
    expect(page).toContain('<th scope="col"><code>smoke</code></th>');
    expect(count(page, /data-testid="cell" data-status=/)).toBe(1);
  });

  it('handles one axis, environments, and cells missing an axis (include-added)', () => {
    const one: ReportRun = { ...run, bases: [], axes: ['os'], cells: [cell('os=linux', { os: 'linux' }), cell('os=mac', { os: 'mac' }, 'failed')] };
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

  it('keeps every link inside the folder of the page: relative, no scheme, no absolute path, no ..', () => {
    const links = hrefs(html);
    expect(links.length).toBeGreaterThan(12 * 3);
    for (const l of links) expect(l, l).toMatch(/^(#base-\d+|report-files\/sha256\/[0-9a-f]{64}|[\w.-]+)$/);
    expect(links).toContain('transcript.jsonl');
    expect(links).toContain('statement.json');

    const hostile = structuredClone(run);
    const targets = ['/etc/passwd', 'file:///home/builder/x', '../../artifacts/blobs/sha256/ab', 'https://example.com/x', 'javascript:alert(1)', 'a\\..\\b'];
    hostile.cells[0]!.steps[0]!.stdout!.href = targets[0];
    hostile.cells[0]!.steps[0]!.stderr!.href = targets[1];
    hostile.cells[1]!.steps[0]!.stdout!.href = targets[2];
    hostile.cells[1]!.steps[0]!.stderr!.href = targets[3];
    hostile.bases![0]!.sbom!.href = targets[4];
    hostile.files = [{ name: targets[5]!, what: 'x' }];
    const page = renderHtml(hostile);
    for (const t of targets) expect(page).not.toContain(`href="${t}`);
    for (const t of targets) expect(safeHref(t), t).toBeUndefined();
    expect(safeHref('report-files/sha256/ab')).toBe('report-files/sha256/ab');
  });

  it('shows no path of the machine that made it, though the transcript events carried some', () => {
    const withVm: ReportRun = { ...run, cells: [...run.cells, { ...cell('vm', {}), enforcement: SANDBOXES.get('vm')!.enforcement! }] };
    const page = renderHtml(withVm);
    expect(page).not.toContain(MACHINE_ROOT);
    expect(page).not.toContain(MACHINE_TMP);
    expect(page).not.toContain('/usr/bin/qemu');
    expect(page).not.toContain('/usr/bin/runsc');
    expect(page).not.toContain('helpers/busybox');
  });

  it('shows each cell its isolation and its sandbox as read back, next to the policy', () => {
    const x64 = cellDiv(html, 'arch=x64,cc=gcc,opt=-O2');
    expect(x64).toContain('<p class="isolation" data-testid="isolation" data-isolation="container">isolation: <strong>container</strong> <span class="meta">(runc)</span></p>');
    expect(x64).toContain('sandbox as enforced (transcript.jsonl line 1)');
    const rows = policyRows(x64);
    expect(rows).toMatchObject({
      network: ['none: loopback only', 'none', 'NetworkMode'],
      capabilities: ['all dropped; none added', 'all dropped; none added', 'CapDrop, CapAdd'],
      privileged: ['no', 'no', 'Privileged'],
      'no-new-privileges': ['on', 'on', 'SecurityOpt'],
      'read-only root': ['yes', 'yes', 'ReadonlyRootfs'],
      user: ['65534:65534', '65534:65534', 'Config.User'],
      memory: ['512.0 MiB', '512.0 MiB', 'Memory'],
      pids: ['256', '256', 'PidsLimit'],
      cpus: ['1', '1', 'NanoCpus (or CpuQuota/CpuPeriod)'],
      tmpfs: ['/out (rw,noexec,nosuid,nodev, 512.0 MiB, mode 1777); /tmp (rw,noexec,nosuid,nodev, 512.0 MiB, mode 1777)', expect.any(String), 'Tmpfs'],
      mounts: ['/.airlock/busybox (read-only)', expect.any(String), 'Binds'],
      'published ports': ['none', 'none', 'PortBindings, PublishAllPorts'],
      runtime: ['runc', "the engine's default", 'Runtime'],
    });

    const arm = cellDiv(html, 'arch=arm64,cc=gcc,opt=-O2');
    expect(arm).toContain('data-isolation="gvisor">isolation: <strong>gvisor</strong> <span class="meta">(runsc release-20240401.0)</span>');
    expect(policyRows(arm).runtime).toEqual(['runsc', 'runsc', 'Runtime']);

    const vm = renderHtml({ ...run, cells: [{ ...cell('vm', {}), enforcement: SANDBOXES.get('vm')!.enforcement! }] });
    expect(vm).toContain('data-isolation="vm">isolation: <strong>vm</strong> <span class="meta">(qemu 7.2.22)</span>');
    expect(policyRows(vm)).toMatchObject({ network: ['no network card', 'none', 'QEMU -nic'], memory: ['256M', expect.any(String), 'QEMU -m'], cpus: ['1', expect.any(String), 'QEMU -smp'] });

    const cached = cellDiv(html, 'arch=x64,cc=gcc,opt=-O0');
    expect(cached).toContain('isolation: not started in this run: replayed from run <code>20250101T000000Z-0badc0de</code>');
    expect(cached).not.toContain('data-testid="policy-row"');
  });

  it('lists each cell its outputs with digests, and the bases with their packages', () => {
    const c = run.cells[0]!;
    const file = c.outputs!.find((o) => o.type === 'file')!;
    const div = cellDiv(html, c.id);
    expect(div).toContain('<summary>outputs: 1 file</summary>');
    expect(div).toContain(
      `<li data-testid="output"><code>/out/report.txt</code> ${file.size} B <a href="report-files/sha256/${digestHex(file.blob!.digest)}" title="${file.blob!.digest}"><code class="digest">${file.blob!.digest}</code></a></li>`,
    );
    expect(div).toContain('<li data-testid="output"><code>/out/latest</code> symlink → <code>report.txt</code></li>');
    expect(div).toContain(`image <code>app@1a2b3c</code> · rootfs <code class="digest">${sha256Digest('app rootfs')}</code>`);
    expect(div).toContain(`bases of the run's images: <a href="#base-0">airlock/busybox</a> (1 package), <a href="#base-1">other/base:1</a> (packages not recorded)`);

    const bases = /<section id="bases"[\s\S]*?<\/section>/.exec(html)![0];
    expect(bases).toContain('<div class="base" id="base-0" data-testid="base"><h3><code>airlock/busybox</code></h3>');
    expect(bases).toContain('<tr data-testid="package"><td><code>busybox-static</code></td><td><code>1:1.35.0-4+b3</code></td></tr>');
    expect(bases).toContain(`SBOM (SPDX 2.3) <a href="report-files/sha256/${digestHex(sha256Digest('sbom'))}"`);
    expect(bases).toContain('<h3><code>other/base:1</code></h3><p class="meta">rootfs <code class="digest">not recorded</code> · packages not recorded · no SBOM: not a base airlock makes from a lock</p>');
    expect(renderHtml({ ...run, bases: [] })).not.toContain('<section id="bases"');
  });
});

/** The markup of one cell, by id. */
function cellDiv(html: string, id: string): string {
  const start = html.indexOf(`data-cell-id="${id}"`);
  expect(start, id).toBeGreaterThan(0);
  return html.slice(start, html.indexOf('\n</div>', start));
}

/** setting → [enforced, policy, read from] of the policy rows in some markup. */
function policyRows(markup: string): Record<string, string[]> {
  const unescape = (s: string) => s.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return Object.fromEntries(
    [...markup.matchAll(/<tr data-testid="policy-row" data-setting="[^"]*"><th scope="row">([^<]*)<\/th><td>([^<]*)<\/td><td>([^<]*)<\/td><td class="meta">([^<]*)<\/td><\/tr>/g)].map((m) => [
      unescape(m[1]!),
      [unescape(m[2]!), unescape(m[3]!), unescape(m[4]!)],
    ]),
  );
}

