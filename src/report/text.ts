/** Text helpers shared by the JUnit and HTML reports: escaping, cleaning and bounding logs. */

/** CSI / OSC terminal escapes: colour codes are noise outside a terminal. */
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;
/** Everything XML 1.0 forbids (section 2.2): C0 controls but tab/LF/CR, lone surrogates, U+FFFE/FFFF. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/** Removes the characters no XML 1.0 (or sane HTML) document may contain. */
export function stripInvalidXmlChars(s: string): string {
  return s.replace(NOT_XML_CHAR, '');
}

/** Text content: `&` and `<` must be escaped, `>` too so `]]>` can never appear. */
export function escapeXmlText(s: string): string {
  return stripInvalidXmlChars(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values (double-quoted): also `"`, and tab/LF/CR as references so they survive normalization. */
export function escapeXmlAttr(s: string): string {
  return escapeXmlText(s).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

/** HTML text and double- or single-quoted attribute values. */
export function escapeHtml(s: string): string {
  return stripInvalidXmlChars(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export interface Bounded {
  text: string;
  /** characters cut off */
  cut: number;
}

/** At most `max` characters (never splitting a surrogate pair), cleaned of terminal escapes. */
export function boundLog(s: string, max: number): Bounded {
  const clean = stripAnsi(s);
  if (clean.length <= max) return { text: clean, cut: 0 };
  let end = max;
  const code = clean.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return { text: clean.slice(0, end), cut: clean.length - end };
}

/** JUnit time: seconds with millisecond precision. */
export function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min ${s} s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
