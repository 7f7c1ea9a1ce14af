import { createHash } from 'node:crypto';
import { formatCellValue } from '../plan/matrix.js';
import { basesHtml, blobLink, cellFactsHtml, filesHtml, verificationHtml } from './html-parts.js';
import { boundLog, escapeHtml as h, formatBytes, formatDuration } from './text.js';
import type { CellStatus, ReportCell, ReportRun, ReportStep, ReportStream } from './types.js';

export interface HtmlOptions {
  /** characters of each log excerpt shown inline (default 16 KiB) */
  maxExcerptChars?: number;
}

const DEFAULT_MAX_EXCERPT = 16 * 1024;

/** Status order in summaries and filters; each has an icon so colour is never the only signal. */
const STATUSES: readonly CellStatus[] = ['passed', 'cached', 'failed', 'error', 'skipped'];
const ICON: Record<CellStatus, string> = { passed: '✔', cached: '↻', failed: '✘', error: '⚠', skipped: '–' };
const MISSING = '\u0000missing';

const CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--pass:#1a7f37;--pass-bg:#dafbe1;--fail:#cf222e;--fail-bg:#ffebe9;--cache:#0969da;--cache-bg:#ddf4ff;--err:#9a6700;--err-bg:#fff8c5;--skip:#57606a;--skip-bg:#f6f8fa}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--pass:#3fb950;--pass-bg:#12261e;--fail:#f85149;--fail-bg:#2d1214;--cache:#4493f8;--cache-bg:#0c2d4f;--err:#d29922;--err-bg:#2e2410;--skip:#9198a1;--skip-bg:#161b22}}
*{box-sizing:border-box}
body{margin:0;padding:1.5rem;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
h1{font-size:1.4rem;margin:0 0 .75rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0 0 1rem}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
.verdict{font-weight:700;text-transform:uppercase}.v-passed{color:var(--pass)}.v-failed,.v-error,.v-interrupted{color:var(--fail)}
.vf-ok{color:var(--pass)}.vf-bad{color:var(--fail);font-weight:700}.vf-none{color:var(--muted)}
#summary{font-weight:600;margin:.5rem 0}
fieldset{border:1px solid var(--line);border-radius:6px;display:inline-flex;gap:1rem;padding:.3rem .8rem;margin:0 0 1rem}
table.grid{border-collapse:collapse;margin-bottom:1rem}
table.grid caption{text-align:left;color:var(--muted);padding:.25rem 0}
table.grid th,table.grid td{border:1px solid var(--line);padding:.35rem;vertical-align:top}
table.grid thead th,table.grid tbody th{background:var(--skip-bg);text-align:left;font-weight:600}
td.empty{color:var(--muted);text-align:center}
.cell{border-left:4px solid var(--skip);background:var(--skip-bg);border-radius:4px;padding:.35rem .5rem;min-width:14rem;max-width:36rem}
.cell+.cell{margin-top:.35rem}
.s-passed{border-color:var(--pass);background:var(--pass-bg)}.s-failed{border-color:var(--fail);background:var(--fail-bg)}
.s-cached{border-color:var(--cache);background:var(--cache-bg)}.s-error{border-color:var(--err);background:var(--err-bg)}
.status{margin:0;font-weight:600}.s-passed .status{color:var(--pass)}.s-failed .status{color:var(--fail)}.s-cached .status{color:var(--cache)}.s-error .status{color:var(--err)}.s-skipped .status{color:var(--skip)}
.dur,.meta{color:var(--muted);font-weight:400}
.badge{display:inline-block;border:1px solid var(--cache);color:var(--cache);border-radius:999px;padding:0 .45rem;font-size:11px;font-weight:600;margin-left:.3rem}
.extras,.cellerror{margin:.2rem 0 0;overflow-wrap:anywhere}.cellerror{color:var(--fail)}
ol.steps{margin:.3rem 0 0;padding-left:1.2rem}ol.steps li{margin:.15rem 0}
.sv-pass{color:var(--pass)}.sv-fail{color:var(--fail)}.sv-timeout,.sv-error{color:var(--err)}.sv-skipped{color:var(--skip)}
details{margin:.2rem 0}summary{cursor:pointer}
pre{margin:.2rem 0;padding:.4rem;background:var(--bg);border:1px solid var(--line);border-radius:4px;max-height:24rem;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere}
a{color:var(--cache)}
.verification p{margin:0 0 .3rem}ul.files{margin:0;padding-left:1.1rem}
.isolation{margin:.3rem 0 0}code.digest{overflow-wrap:anywhere}
table.policy,table.packages{border-collapse:collapse;margin:.2rem 0;font-size:12px}
table.policy th,table.policy td,table.packages th,table.packages td{border:1px solid var(--line);padding:.15rem .3rem;text-align:left;vertical-align:top}
details.outputs ul{margin:.2rem 0;padding-left:1.1rem}
.base{margin:.5rem 0}.base h3{font-size:1rem;margin:.5rem 0 .2rem}
[hidden]{display:none!important}
footer{margin-top:2rem;color:var(--muted);font-size:12px}
`.trim();

// Reads only the DOM (no data embedded in script), so nothing in a log can reach code.
const JS = `
(function () {
  var cells = Array.prototype.slice.call(document.querySelectorAll('[data-testid="cell"]'));
  var order = ['passed', 'cached', 'failed', 'error', 'skipped'];
  var counts = {};
  cells.forEach(function (c) { counts[c.dataset.status] = (counts[c.dataset.status] || 0) + 1; });
  var parts = order.filter(function (s) { return counts[s]; }).map(function (s) { return counts[s] + ' ' + s; });
  var summary = document.getElementById('summary');
  summary.textContent = cells.length + (cells.length === 1 ? ' cell: ' : ' cells: ') + (parts.join(', ') || 'none');
  summary.dataset.total = String(cells.length);
  order.forEach(function (s) { summary.dataset[s] = String(counts[s] || 0); });
  var filters = document.getElementById('filters');
  filters.hidden = false;
  filters.addEventListener('change', function () {
    var shown = {};
    Array.prototype.forEach.call(filters.querySelectorAll('input:checked'), function (i) { shown[i.value] = true; });
    cells.forEach(function (c) { c.hidden = !shown[c.dataset.status]; });
  });
  document.documentElement.dataset.js = 'ready';
})();
`.trim();

const cspHash = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
// No network at all: the page may run only its own inline script and style.
const CSP = `default-src 'none'; script-src ${cspHash(JS)}; style-src ${cspHash(CSS)}; img-src data:; base-uri 'none'; form-action 'none'`;

/**
 * One self-contained page for people: run facts, the bundle's verification as a dated
 * statement (and how to check it yourself) up top, then the matrix as a grid (rows = first
 * axis, columns = second, one table per value of the remaining axes and per environment),
 * each cell coloured and labelled by status with its steps, log links and bounded inline
 * excerpts, its isolation and sandbox as read back, its outputs by digest; then the base
 * images and their packages. Links stay inside the page's folder (the bundle's files and
 * copies of blobs beside it), so the page works wherever the folder goes. No network: a
 * CSP allows only the page's own hashed script and style.
 */
export function renderHtml(run: ReportRun, options: HtmlOptions = {}): string {
  const ctx: Ctx = { run, maxExcerpt: options.maxExcerptChars ?? DEFAULT_MAX_EXCERPT, axes: run.axes };
  const counts = STATUSES.map((s) => [s, run.cells.filter((c) => c.status === s).length] as const).filter(([, n]) => n > 0);
  const staticSummary = `${run.cells.length} ${run.cells.length === 1 ? 'cell' : 'cells'}: ${counts.map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${h(CSP)}">
<title>airlock ${h(run.spec)} ${h(run.runId)}: ${h(run.verdict)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>airlock run <code>${h(run.runId)}</code></h1>
<dl class="facts">
<dt>Spec</dt><dd>${h(run.spec)}</dd>
<dt>Verdict</dt><dd><span class="verdict v-${h(run.verdict)}" data-testid="verdict">${h(run.verdict)}</span></dd>
<dt>Bundle</dt><dd><code>${h(run.bundle.dir)}</code>: the folder of this page</dd>
<dt>Verification</dt><dd>${verificationHtml(run)}</dd>
${filesHtml(run)}
<dt>Started</dt><dd><time datetime="${h(run.startedAt)}">${h(run.startedAt)}</time></dd>
<dt>Duration</dt><dd>${formatDuration(run.durationMs)}</dd>
</dl>
<p id="summary" data-testid="summary" role="status"></p>
<noscript><p>${h(staticSummary)}</p></noscript>
<fieldset id="filters" hidden><legend>Show</legend>
${counts.map(([s, n]) => `<label><input type="checkbox" value="${s}" checked> ${ICON[s]} ${s} (${n})</label>`).join('\n')}
</fieldset>
</header>
<main>
${groups(run).map((g, i) => grid(g, i, ctx)).join('\n')}
${basesHtml(run)}
</main>
<footer>Generated by airlock. Every link opens a file in this page's folder: the bundle's own files, and in <code>report-files/sha256/</code> copies of the logs, outputs and SBOMs the page names, each file named by its content's sha256 (what <code>airlock verify</code> checks is the bundle and its blobs, not these copies). Paths of the machine that made the page are written relative to the project, <code>$TMPDIR</code> or <code>~</code>. The signed bundle is the record; this page only shows it.</footer>
<script>${JS}</script>
</body>
</html>
`;
}

interface Ctx {
  run: ReportRun;
  maxExcerpt: number;
  axes: string[];
}

interface Group {
  /** e.g. `build · arch=arm64` (empty for the only group) */
  title: string;
  cells: ReportCell[];
}

/** One grid per environment and per combination of the axes beyond the first two, in first-seen order. */
function groups(run: ReportRun): Group[] {
  const out = new Map<string, Group>();
  for (const cell of run.cells) {
    const parts = [
      ...(cell.env !== undefined ? [cell.env] : []),
      ...run.axes.slice(2).map((a) => `${a}=${display(cell.cell, a)}`),
    ];
    const title = parts.join(' · ');
    let g = out.get(title);
    if (!g) out.set(title, (g = { title, cells: [] }));
    g.cells.push(cell);
  }
  return [...out.values()];
}

function value(cell: ReportCell['cell'], axis: string): string {
  return Object.hasOwn(cell, axis) ? formatCellValue(cell[axis]) : MISSING;
}

function display(cell: ReportCell['cell'], axis: string): string {
  const v = value(cell, axis);
  return v === MISSING ? '(not set)' : v;
}

function distinct(cells: ReportCell[], axis: string): string[] {
  return [...new Set(cells.map((c) => value(c.cell, axis)))];
}

function label(v: string): string {
  return v === MISSING ? '<span class="meta">(not set)</span>' : `<code>${h(v)}</code>`;
}

function grid(g: Group, index: number, ctx: Ctx): string {
  const [rowAxis, colAxis] = ctx.axes;
  const heading = g.title ? `<h2 id="grid-${index}">${h(g.title)}</h2>` : `<h2 id="grid-${index}">${ctx.axes.length ? 'Matrix' : 'Cells'}</h2>`;
  let head: string;
  let rows: string[];
  if (rowAxis === undefined) {
    // No matrix: one row, one column per cell.
    head = `<tr>${g.cells.map((c) => `<th scope="col"><code>${h(c.id)}</code></th>`).join('')}</tr>`;
    rows = [`<tr>${g.cells.map((c) => `<td>${cellHtml(c, ctx)}</td>`).join('')}</tr>`];
  } else if (colAxis === undefined) {
    // One axis: one row, one column per value.
    const cols = distinct(g.cells, rowAxis);
    head = `<tr><th scope="col">${h(rowAxis)}</th>${cols.map((v) => `<th scope="col">${label(v)}</th>`).join('')}</tr>`;
    rows = [`<tr><th scope="row">cells</th>${cols.map((v) => slot(g.cells.filter((c) => value(c.cell, rowAxis) === v), ctx)).join('')}</tr>`];
  } else {
    const rowValues = distinct(g.cells, rowAxis);
    const colValues = distinct(g.cells, colAxis);
    head = `<tr><th scope="col">${h(rowAxis)} \\ ${h(colAxis)}</th>${colValues.map((v) => `<th scope="col">${label(v)}</th>`).join('')}</tr>`;
    rows = rowValues.map(
      (r) =>
        `<tr><th scope="row">${label(r)}</th>${colValues
          .map((cv) => slot(g.cells.filter((c) => value(c.cell, rowAxis) === r && value(c.cell, colAxis) === cv), ctx))
          .join('')}</tr>`,
    );
  }
  const caption = ctx.axes.length >= 2 ? `rows: ${h(rowAxis!)}, columns: ${h(colAxis!)}` : ctx.axes.length === 1 ? `columns: ${h(rowAxis!)}` : 'one column per cell';
  return `<section aria-labelledby="grid-${index}">
${heading}
<table class="grid" aria-labelledby="grid-${index}">
<caption>${caption}</caption>
<thead>${head}</thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</section>`;
}

function slot(cells: ReportCell[], ctx: Ctx): string {
  return cells.length === 0 ? '<td class="empty">no cell</td>' : `<td>${cells.map((c) => cellHtml(c, ctx)).join('')}</td>`;
}

function cellHtml(c: ReportCell, ctx: Ctx): string {
  const extras = Object.keys(c.cell).filter((k) => !ctx.axes.includes(k));
  const cacheBadge = c.cached ? `<span class="badge" title="${c.cachedFrom ? `replayed from run ${h(c.cachedFrom)}` : 'replayed from the action cache'}">cache hit</span>` : '';
  return `<div class="cell s-${h(c.status)}" data-testid="cell" data-status="${h(c.status)}" data-cell-id="${h(c.id)}"${c.cached ? ' data-cached="true"' : ''} role="group" aria-label="${h(c.id)}: ${h(c.status)}">
<p class="status"><span aria-hidden="true">${ICON[c.status]}</span> ${h(c.status)} <span class="dur">${formatDuration(c.durationMs)}</span>${cacheBadge}</p>
${ctx.axes.length === 0 ? '' : `<p class="meta"><code>${h(c.id)}</code></p>`}
${extras.length ? `<p class="extras meta">${extras.map((k) => `<code>${h(k)}=${h(formatCellValue(c.cell[k]))}</code>`).join(' ')}</p>` : ''}
${c.cachedFrom ? `<p class="meta">cached from run <code>${h(c.cachedFrom)}</code></p>` : ''}
${c.error ? `<p class="cellerror">${h(c.error)}</p>` : ''}
${c.steps.length ? `<ol class="steps">${c.steps.map((s) => stepHtml(s, ctx)).join('')}</ol>` : ''}
${cellFactsHtml(c, ctx.run)}
</div>`;
}

function stepHtml(s: ReportStep, ctx: Ctx): string {
  const facts = [
    ...(s.exitCode !== null ? [`exit ${s.exitCode}`] : []),
    ...(s.verdict !== 'skipped' ? [formatDuration(s.durationMs)] : []),
    ...[['stdout', s.stdout] as const, ['stderr', s.stderr] as const].flatMap(([name, stream]) =>
      stream ? [`${blobLink(name, stream)} (${formatBytes(stream.size)})`] : [],
    ),
  ];
  const failures = s.failures.map(
    (f) => `<details class="failure" open><summary>${h(f.what)}: ${h(f.message)}</summary>${f.diff ? `<pre>${h(boundLog(f.diff, ctx.maxExcerpt).text)}</pre>` : ''}</details>`,
  );
  const excerpts = [['stdout', s.stdout] as const, ['stderr', s.stderr] as const].flatMap(([name, stream]) => excerpt(name, stream, ctx));
  return `<li class="step"><strong>${h(s.name)}</strong> <span class="sv-${h(s.verdict)}">${h(s.verdict)}</span> <span class="meta">${facts.join(' · ')}</span>${failures.join('')}${excerpts.join('')}</li>`;
}

function excerpt(name: string, stream: ReportStream | undefined, ctx: Ctx): string[] {
  if (!stream?.excerpt) return [];
  const { text, cut } = boundLog(stream.excerpt, ctx.maxExcerpt);
  const shown = Buffer.byteLength(cut === 0 ? stream.excerpt : text, 'utf8');
  const note = cut > 0 || shown < stream.size ? ` (${formatBytes(shown)} of ${formatBytes(stream.size)})` : '';
  return [`<details><summary>${name} excerpt${note}</summary><pre>${h(text)}</pre></details>`];
}
