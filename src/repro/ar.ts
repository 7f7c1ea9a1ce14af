import { normalizeEntryPath } from '../archive/paths.js';
import { sha256Digest } from '../util/digest.js';
import type { FileSide } from './types.js';

/**
 * A bounded reader for Unix ar archives (static libraries, .deb packages), for comparing
 * them. Layout: `!<arch>\n`, then per member a 60-byte header (name 16, mtime 12, uid 6,
 * gid 6, mode 8 octal, size 10, all ASCII padded with spaces, then `` `\n ``), the data,
 * and a `\n` when the size is odd.
 *
 * Long names: GNU keeps them in a `//` member (each ends in `/\n`) and names a member
 * `/<offset>` into it; BSD names it `#1/<length>` and puts the name before the data,
 * counted in the size. Symbol tables (GNU `/` and `/SYM64/`, BSD `__.SYMDEF…`) are not
 * members: they index the others, so they are returned apart.
 */

export interface ArArchive {
  /** members in stored order; a name stored twice gets ` (2)`, ` (3)`… so each path is unique */
  members: FileSide[];
  /** the symbol tables (their bytes concatenated, the first one's mtime); undefined when there is none */
  symbols: { data: Buffer; mtime: number | undefined } | undefined;
}

const MAGIC = '!<arch>\n';
const THIN = '!<thin>\n';
const HEADER = 60;

export function isAr(buf: Buffer): boolean {
  const m = buf.toString('latin1', 0, 8);
  return m === MAGIC || m === THIN;
}

/**
 * @throws Error with a readable message when the archive is malformed, truncated, thin
 *   (members outside the file), or holds a member larger than `maxBytes`
 */
export function readAr(buf: Buffer, maxBytes: number): ArArchive {
  if (buf.toString('latin1', 0, 8) === THIN) throw new Error('thin ar archives are not supported: their members are files outside the archive');
  if (buf.toString('latin1', 0, 8) !== MAGIC) throw new Error('not an ar archive: no !<arch> magic');
  const members: FileSide[] = [];
  const symbols: Buffer[] = [];
  let symbolsMtime: number | undefined;
  const seen = new Map<string, number>();
  let longNames: Buffer | undefined;
  let p = MAGIC.length;
  for (let i = 0; p < buf.length; i++) {
    const h = p;
    const at = `ar member ${i} at offset ${h}`;
    // some writers pad the end with a newline
    if (buf.length - p === 1 && buf[p] === 0x0a) break;
    if (p + HEADER > buf.length) throw new Error(`${at}: truncated in its header`);
    if (buf.toString('latin1', p + 58, p + 60) !== '`\n') throw new Error(`${at}: header does not end in \`\\n (not an ar member)`);
    const rawName = buf.toString('latin1', p, p + 16).trimEnd();
    const size = num(buf, p + 48, 10, 10, `${at}: size`);
    if (size === undefined) throw new Error(`${at}: size is blank`);
    const dataStart = p + HEADER;
    if (dataStart + size > buf.length) throw new Error(`${at}: truncated (${size} bytes declared, ${buf.length - dataStart} present)`);
    let data = buf.subarray(dataStart, dataStart + size);
    p = dataStart + size + (size % 2);

    const symbolTable = (): void => {
      if (symbols.length === 0) symbolsMtime = num(buf, h + 16, 12, 10, `${at}: mtime`);
      symbols.push(data);
    };
    if (rawName === '/' || rawName === '/SYM64/' || rawName.startsWith('__.SYMDEF')) {
      symbolTable();
      continue;
    }
    if (rawName === '//') {
      longNames = data;
      continue;
    }
    let name: string;
    const bsd = /^#1\/(\d+)$/.exec(rawName);
    if (bsd !== null) {
      const len = Number(bsd[1]);
      if (len > size) throw new Error(`${at}: BSD name length ${len} exceeds the member size ${size}`);
      name = data.toString('utf8', 0, len).replace(/\0+$/, '');
      data = data.subarray(len);
    } else if (/^\/\d+$/.test(rawName)) {
      name = longName(longNames, Number(rawName.slice(1)), at);
    } else {
      name = rawName.endsWith('/') ? rawName.slice(0, -1) : rawName;
    }
    if (name.startsWith('__.SYMDEF')) {
      symbolTable();
      continue;
    }
    if (data.length > maxBytes) throw new Error(`ar member ${JSON.stringify(name)}: ${data.length} bytes, more than the ${maxBytes} compared`);

    const base = normalizeEntryPath(name) || name;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const mode = num(buf, h + 40, 8, 8, `${at}: mode`);
    const content = data;
    members.push({
      path: n === 1 ? base : `${base} (${n})`,
      type: 'file',
      ...opt('mtime', num(buf, h + 16, 12, 10, `${at}: mtime`)),
      ...opt('uid', num(buf, h + 28, 6, 10, `${at}: uid`)),
      ...opt('gid', num(buf, h + 34, 6, 10, `${at}: gid`)),
      ...opt('mode', mode === undefined ? undefined : mode & 0o7777),
      size: content.length,
      digest: sha256Digest(content),
      read: async () => content,
    });
  }
  return { members, symbols: symbols.length === 0 ? undefined : { data: Buffer.concat(symbols), mtime: symbolsMtime } };
}

function longName(table: Buffer | undefined, offset: number, at: string): string {
  if (table === undefined) throw new Error(`${at}: long name /${offset} but no // name table before it`);
  if (offset >= table.length) throw new Error(`${at}: long name offset ${offset} lies outside the ${table.length}-byte name table`);
  const end = table.indexOf('\n', offset);
  const raw = table.toString('utf8', offset, end === -1 ? table.length : end);
  return raw.endsWith('/') ? raw.slice(0, -1) : raw;
}

/** A space-padded number in `radix`; undefined when blank. */
function num(buf: Buffer, start: number, len: number, radix: 8 | 10, what: string): number | undefined {
  const s = buf.toString('latin1', start, start + len).trimEnd();
  if (s === '') return undefined;
  if (!(radix === 8 ? /^[0-7]+$/ : /^\d+$/).test(s)) throw new Error(`${what} ${JSON.stringify(s)} is not a${radix === 8 ? 'n octal' : ' decimal'} number`);
  return parseInt(s, radix);
}

function opt<K extends string>(key: K, v: number | undefined): { [k in K]?: number } {
  return (v === undefined ? {} : { [key]: v }) as { [k in K]?: number };
}
