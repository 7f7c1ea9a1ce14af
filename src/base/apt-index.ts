/**
 * Debian's archive metadata, parsed: control paragraphs (Packages indexes, dpkg's status
 * file), the SHA256 table of a Release file, and dpkg's version order. Pure and linear
 * in the size of the text: a Packages index of bookworm is ~45 MB.
 */

/** One package file as a Packages index describes it. */
export interface IndexedDeb {
  name: string;
  version: string;
  architecture: string;
  /** pool path relative to the archive root, e.g. `pool/main/b/bash/bash_5.2.15-2+b2_amd64.deb` */
  filename: string;
  size: number;
  /** 64 lowercase hex digits */
  sha256: string;
  /** the raw Depends field (only read for metapackages such as the kernel's) */
  depends?: string;
}

/**
 * Calls `onParagraph` with the fields of each paragraph (RFC 822 style: `Field: value`,
 * continuation lines starting with a space or tab, paragraphs separated by blank lines).
 * Continuation lines are kept, joined by `\n`, so multi-line fields (SHA256 tables) survive.
 */
export function forEachParagraph(text: string, onParagraph: (fields: Map<string, string>) => void): void {
  let fields = new Map<string, string>();
  let last: string | undefined;
  let start = 0;
  const flush = () => {
    if (fields.size > 0) onParagraph(fields);
    fields = new Map();
    last = undefined;
  };
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      if (last !== undefined) fields.set(last, `${fields.get(last)}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon);
    fields.set(last, line.slice(colon + 1).trim());
  }
  flush();
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Every package stanza of a Packages index that names a file with a sha256; others are skipped. */
export function parsePackagesIndex(text: string): IndexedDeb[] {
  const debs: IndexedDeb[] = [];
  forEachParagraph(text, (f) => {
    const name = f.get('Package');
    const version = f.get('Version');
    const architecture = f.get('Architecture');
    const filename = f.get('Filename');
    const size = Number(f.get('Size'));
    const sha256 = f.get('SHA256');
    if (!name || !version || !architecture || !filename || !Number.isSafeInteger(size) || size < 0 || !sha256 || !HEX64.test(sha256)) return;
    const depends = f.get('Depends');
    debs.push({ name, version, architecture, filename, size, sha256, ...(depends ? { depends } : {}) });
  });
  return debs;
}

/** The `SHA256:` table of a Release/InRelease file: path → sha256 and size. */
export function parseReleaseSha256(text: string): Map<string, { sha256: string; size: number }> {
  const table = new Map<string, { sha256: string; size: number }>();
  forEachParagraph(stripClearsign(text), (f) => {
    for (const line of (f.get('SHA256') ?? '').split('\n')) {
      const [sha256, size, path] = line.trim().split(/\s+/);
      if (sha256 && HEX64.test(sha256) && path && Number.isSafeInteger(Number(size))) table.set(path, { sha256, size: Number(size) });
    }
  });
  return table;
}

/** The signed text of an InRelease file (its PGP armour removed); a plain Release file unchanged. */
function stripClearsign(text: string): string {
  if (!text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) return text;
  const body = text.slice(text.indexOf('\n\n') + 2);
  const end = body.indexOf('\n-----BEGIN PGP SIGNATURE-----');
  return end < 0 ? body : body.slice(0, end);
}

/** Installed packages of a dpkg status file: name, version, architecture; sorted by name. */
export function parseDpkgStatus(text: string): { name: string; version: string; architecture: string }[] {
  const out: { name: string; version: string; architecture: string }[] = [];
  forEachParagraph(text, (f) => {
    const name = f.get('Package');
    const version = f.get('Version');
    const architecture = f.get('Architecture');
    if (name && version && architecture && / installed$/.test(f.get('Status') ?? '')) out.push({ name, version, architecture });
  });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** dpkg's ordering of version strings (`[epoch:]upstream[-revision]`), as in deb-version(7). */
export function compareDebianVersions(a: string, b: string): number {
  const [ea, ua, ra] = splitVersion(a);
  const [eb, ub, rb] = splitVersion(b);
  if (ea !== eb) return ea < eb ? -1 : 1;
  return compareFragment(ua, ub) || compareFragment(ra, rb);
}

function splitVersion(v: string): [number, string, string] {
  const colon = v.indexOf(':');
  const epoch = colon >= 0 ? Number(v.slice(0, colon)) : 0;
  const rest = colon >= 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, ''];
}

/** `~` sorts before everything, even the end; letters before non-letters. */
function charOrder(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // non-digit prefix, compared char by char
    while ((i < a.length && !isDigit(a[i]!)) || (j < b.length && !isDigit(b[j]!))) {
      const ca = i < a.length && !isDigit(a[i]!) ? a[i] : undefined;
      const cb = j < b.length && !isDigit(b[j]!) ? b[j] : undefined;
      const d = charOrder(ca) - charOrder(cb);
      if (d !== 0) return d < 0 ? -1 : 1;
      if (ca !== undefined) i++;
      if (cb !== undefined) j++;
    }
    // digit run, compared as a number
    let na = '';
    let nb = '';
    while (i < a.length && isDigit(a[i]!)) na += a[i++];
    while (j < b.length && isDigit(b[j]!)) nb += b[j++];
    const d = compareNumbers(na, nb);
    if (d !== 0) return d;
  }
  return 0;
}

const isDigit = (c: string): boolean => c >= '0' && c <= '9';

function compareNumbers(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}
