/**
 * Path helpers shared by the tar readers. Tar entry names are POSIX paths; every function
 * here is pure and works on `/`-separated strings only.
 */

/** Byte order of the UTF-8 encodings (what `sort` in C and Go give), not UTF-16 order. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Lexically normalizes a tar entry name: no leading `/` or `./`, no trailing `/`, no empty
 * or `.` segments. `..` segments are kept as they are (callers decide). The root is `''`.
 */
export function normalizeEntryPath(name: string): string {
  return name
    .split('/')
    .filter((seg) => seg !== '' && seg !== '.')
    .join('/');
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i === -1 ? '' : path.slice(0, i);
}

/** `a/b/c` → `['a', 'a/b']` */
export function ancestorsOf(path: string): string[] {
  const segs = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) out.push(segs.slice(0, i).join('/'));
  return out;
}
