import { escapeHtml as h, formatBytes } from './text.js';
import type { ReportBase, ReportBlob, ReportCell, ReportEnforcement, ReportOutputEntry, ReportRun } from './types.js';

/**
 * The parts of the page beyond the grid: the verification statement, the bundle's files,
 * a cell's sandbox, outputs and bases, and the base images section. Every link stays inside
 * the page's folder, so moving the folder or exporting the bundle keeps them working.
 */

/** Beside the page: copies of the blobs it links, `report-files/sha256/<hex>` (`airlock export` carries them too). */
export const REPORT_FILES_DIR = 'report-files';

/** Outputs listed per cell before the rest is summarised. */
const MAX_OUTPUT_ENTRIES = 200;

/**
 * A link target only when it stays inside the page's folder (or is an anchor in it): no
 * scheme, no absolute path, no `..`. Anything else is not linked.
 */
export function safeHref(href: string | undefined): string | undefined {
  if (href === undefined || href === '') return undefined;
  if (href.startsWith('#')) return href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('/') || href.includes('\\') || href.split('/').includes('..')) return undefined;
  return href;
}

/** `text` linked to the blob's copy beside the page when there is one; the digest in the title either way. */
export function blobLink(text: string, blob: ReportBlob): string {
  const href = safeHref(blob.href);
  return href ? `<a href="${h(href)}" title="${h(blob.digest)}">${text}</a>` : `<span title="${h(blob.digest)} (no copy beside this page)">${text}</span>`;
}

/** The verification as a statement of fact: when, by whom, how, and how to check it yourself. */
export function verificationHtml(run: ReportRun): string {
  const b = run.bundle;
  const when = b.checkedAt ? ` on <time datetime="${h(b.checkedAt)}">${h(b.checkedAt)}</time>` : '';
  const by = b.checkedBy ? ` by ${h(b.checkedBy)}` : '';
  const how =
    'with the checks of <code>airlock verify</code> (the DSSE signature against the keys the project trusts in <code>locks/keys/</code>, ' +
    "the transcript's hash chain, the signed subjects, every blob re-hashed, the enforced policy read back)";
  const key = b.keyid ?? '<keyid>';
  const statement =
    b.verified === true
      ? `<p class="vf-ok" data-testid="verified" data-verified="true">Checked${when}${by}, ${how}: the signature is valid, made by key <code>${h(key)}</code>, and every check passed.</p>`
      : b.verified === false
        ? `<p class="vf-bad" data-testid="verified" data-verified="false">Checked${when}${by}, ${how}: verification failed${b.code ? ` <code>[${h(b.code)}]</code>` : ''}${b.problem ? `: ${h(b.problem)}` : ''}.</p>`
        : `<p class="vf-none" data-testid="verified" data-verified="unchecked">Not checked when this page was written.</p>`;
  const yourself =
    `<p data-testid="verify-yourself">This page is not signed: it reports a check, it proves nothing by itself. Check the bundle yourself, in the folder of this page: ` +
    `<code data-testid="verify-command">airlock verify .</code> (from the project root: <code>airlock verify ${h(b.dir)}</code>). ` +
    `A copy outside the project needs the public key named, <code>airlock verify . --key ${h(key)}.pub.pem</code> with the file from the project's <code>locks/keys/</code>, ` +
    `and the blobs: <code>airlock export</code> makes a copy that carries them.</p>`;
  return `<div class="verification" data-testid="verification">${statement}${yourself}</div>`;
}

export function filesHtml(run: ReportRun): string {
  const files = (run.files ?? []).flatMap((f) => {
    const href = safeHref(f.name);
    return href ? [`<a href="${h(href)}" data-testid="bundle-file">${h(f.name)}</a> <span class="meta">${h(f.what)}</span>`] : [];
  });
  return files.length ? `<dt>Files</dt><dd><ul class="files">${files.map((f) => `<li>${f}</li>`).join('')}</ul></dd>` : '';
}

/** Image, isolation, sandbox, outputs and bases of one cell. */
export function cellFactsHtml(c: ReportCell, run: ReportRun): string {
  const image = c.image
    ? `<p class="meta">image <code>${h(c.image.variant)}</code>${c.image.rootfsDigest ? ` · rootfs <code class="digest">${h(c.image.rootfsDigest)}</code>` : ''}</p>`
    : '';
  return `${image}${sandboxHtml(c)}${outputsHtml(c.outputs ?? [])}${cellBasesHtml(run)}`;
}

function sandboxHtml(c: ReportCell): string {
  const e = c.enforcement;
  if (!e) {
    const why = c.cached
      ? `not started in this run: replayed from run <code>${h(c.cachedFrom ?? '?')}</code>, whose transcript holds its read-back`
      : 'no sandbox was started for this cell';
    return `<p class="isolation meta" data-testid="isolation" data-isolation="none">isolation: ${why}</p>`;
  }
  return `<p class="isolation" data-testid="isolation" data-isolation="${h(e.isolation)}">isolation: <strong>${h(e.isolation)}</strong> <span class="meta">(${h(e.runtime)})</span></p>
<details class="sandbox"><summary>sandbox as enforced (transcript.jsonl line ${e.line})</summary>${policyTable(e)}</details>`;
}

function policyTable(e: ReportEnforcement): string {
  const rows = e.rows.map(
    (r) => `<tr data-testid="policy-row" data-setting="${h(r.setting)}"><th scope="row">${h(r.setting)}</th><td>${h(r.enforced)}</td><td>${h(r.policy)}</td><td class="meta">${h(r.from)}</td></tr>`,
  );
  const loosened = e.loosened.length ? `<p class="meta">loosened by the spec: ${e.loosened.map((l) => `<code>${h(l)}</code>`).join(', ')}</p>` : '';
  const services = e.services.length
    ? `<p class="meta">services, sealed by the same rules: ${e.services.map((s) => `<code>${h(s.name)}</code> as ${h(s.user)} on ${h(s.network)} (line ${s.line})`).join('; ')}</p>`
    : '';
  return `<table class="policy"><thead><tr><th scope="col">setting</th><th scope="col">enforced (read back)</th><th scope="col">policy</th><th scope="col">read from</th></tr></thead><tbody>${rows.join('')}</tbody></table>${loosened}${services}`;
}

function outputsHtml(entries: readonly ReportOutputEntry[]): string {
  if (entries.length === 0) return '';
  const files = entries.filter((x) => x.type === 'file').length;
  const shown = entries.slice(0, MAX_OUTPUT_ENTRIES).map((x) => {
    const what =
      x.type === 'file' && x.blob
        ? `${formatBytes(x.size)} ${blobLink(`<code class="digest">${h(x.blob.digest)}</code>`, x.blob)}`
        : x.target !== undefined
          ? `${h(x.type)} → <code>${h(x.target)}</code>`
          : h(x.type);
    return `<li data-testid="output"><code>${h(x.path)}</code> ${what}</li>`;
  });
  const more = entries.length > MAX_OUTPUT_ENTRIES ? `<li class="meta">… and ${entries.length - MAX_OUTPUT_ENTRIES} more entries (the transcript lists them all)</li>` : '';
  return `<details class="outputs"><summary>outputs: ${files} ${files === 1 ? 'file' : 'files'}</summary><ul>${shown.join('')}${more}</ul></details>`;
}

const packagesText = (b: ReportBase) => (b.packages ? `${b.packages.length} ${b.packages.length === 1 ? 'package' : 'packages'}` : 'packages not recorded');

function cellBasesHtml(run: ReportRun): string {
  const bases = run.bases ?? [];
  if (bases.length === 0) return '';
  return `<p class="meta bases">bases of the run's images: ${bases.map((b, i) => `<a href="#base-${i}">${h(b.ref)}</a> (${packagesText(b)})`).join(', ')}</p>`;
}

/** The bases section: each base's rootfs digest, SBOM and packages (name and version). */
export function basesHtml(run: ReportRun): string {
  const bases = run.bases ?? [];
  if (bases.length === 0) return '';
  const items = bases.map((b, i) => {
    const sbom = b.sbom ? ` · SBOM (SPDX 2.3) ${blobLink(`<code class="digest">${h(b.sbom.digest)}</code>`, b.sbom)}` : ' · no SBOM: not a base airlock makes from a lock';
    const table = b.packages?.length
      ? `<details><summary>${packagesText(b)}</summary><table class="packages"><thead><tr><th scope="col">package</th><th scope="col">version</th></tr></thead><tbody>${b.packages
          .map((p) => `<tr data-testid="package"><td><code>${h(p.name)}</code></td><td><code>${h(p.version)}</code></td></tr>`)
          .join('')}</tbody></table></details>`
      : '';
    return `<div class="base" id="base-${i}" data-testid="base"><h3><code>${h(b.ref)}</code></h3><p class="meta">rootfs <code class="digest">${h(b.rootfsDigest ?? 'not recorded')}</code> · ${packagesText(b)}${sbom}</p>${table}</div>`;
  });
  return `<section id="bases" aria-labelledby="bases-h"><h2 id="bases-h">Base images</h2>
<p class="meta">What the run's images are built on (every build stage), as the transcript's <code>inputs</code> event records them; the packages are read from each base's SBOM, derived from its lock and signed as a subject. The transcript names bases per run, not per image.</p>
${items.join('\n')}</section>`;
}
