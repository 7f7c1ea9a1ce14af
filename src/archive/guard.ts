import type { Header } from 'tar-stream';

import { AirlockError } from '../errors.js';
import { ancestorsOf, normalizeEntryPath, parentOf } from './paths.js';
import { tarEntryType } from './tar-read.js';

export type SafeEntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

/** A tar entry that passed every check, with its archive-root-relative path. */
export interface SafeEntry {
  path: string;
  type: SafeEntryType;
  /** permission bits plus setuid/setgid/sticky as stored */
  mode: number;
  /** symlink: the link text as stored; hardlink: the (prefix-stripped) path of the linked entry */
  target?: string;
}

/** Symlink chains longer than this are treated as loops (Linux's MAXSYMLINKS is 40). */
const MAX_SYMLINK_DEPTH = 40;

/**
 * The one place that decides whether a tar entry may be unpacked. Refuses, with
 * ARCHIVE_UNSAFE naming the entry: absolute names, `..` segments, NUL bytes, device and
 * other special files, duplicate names, entries below a symlink or a non-directory,
 * hardlinks to anything but an earlier file of the archive, and symlinks whose target
 * (following the archive's other symlinks) leaves the root. Symlinks can be defined in any
 * order, so `finish()` re-checks them all once the whole archive has been seen.
 */
export class EntryGuard {
  /** normalized prefix to strip ('' for none) */
  readonly #prefix: string;
  /** every accepted path and its type; the archive as it would be on disk */
  readonly #seen = new Map<string, SafeEntryType>();
  /** accepted symlinks: path → link text */
  readonly #links = new Map<string, string>();

  constructor(options: { stripPrefix?: string } = {}) {
    const raw = options.stripPrefix ?? '';
    if (raw.split('/').includes('..')) throw unsafe(raw, 'stripPrefix must not contain `..`');
    this.#prefix = normalizeEntryPath(raw);
  }

  /** The checked entry, or null for the archive's root directory (nothing to unpack). */
  check(h: Header): SafeEntry | null {
    const name = h.name;
    checkName(name, name);
    if (name.startsWith('/')) throw unsafe(name, 'absolute path');
    const path = this.#strip(name, name);
    const type = safeType(h);
    if (path === '') {
      if (type === 'dir') return null;
      throw unsafe(name, `a ${type} cannot be the archive root`);
    }
    if (this.#seen.has(path)) throw unsafe(name, 'duplicate entry');
    for (const a of ancestorsOf(path)) {
      const t = this.#seen.get(a);
      if (t === 'symlink') throw unsafe(name, `path goes through the symlink ${a}`);
      if (t !== undefined && t !== 'dir') throw unsafe(name, `parent ${a} is not a directory`);
    }
    const entry: SafeEntry = { path, type, mode: (h.mode ?? 0) & 0o7777 };

    if (type === 'hardlink') {
      const linkname = h.linkname ?? '';
      checkName(name, linkname);
      if (linkname.startsWith('/')) throw unsafe(name, `hardlink to absolute path ${linkname}`);
      const target = this.#strip(name, linkname);
      const t = this.#seen.get(target);
      if (t !== 'file' && t !== 'hardlink') {
        throw unsafe(name, `hardlink target ${linkname} is not an earlier file of the archive`);
      }
      entry.target = target;
    } else if (type === 'symlink') {
      const linkname = h.linkname ?? '';
      checkName(name, linkname);
      const problem = this.#resolve(parentOf(path), linkname);
      if (typeof problem !== 'string') throw unsafe(name, linkProblem(linkname, problem));
      entry.target = linkname;
      this.#links.set(path, linkname);
    }
    this.#seen.set(path, type);
    return entry;
  }

  /** Re-checks every symlink against the complete archive (a later link can redirect an earlier one). */
  finish(): void {
    for (const [path, target] of this.#links) {
      const problem = this.#resolve(parentOf(path), target);
      if (typeof problem !== 'string') throw unsafe(path, linkProblem(target, problem));
    }
  }

  #strip(entryName: string, p: string): string {
    if (p.split('/').includes('..')) throw unsafe(entryName, `\`..\` in ${p}`);
    const path = normalizeEntryPath(p);
    if (this.#prefix === '') return path;
    if (path === this.#prefix) return '';
    if (path.startsWith(`${this.#prefix}/`)) return path.slice(this.#prefix.length + 1);
    throw unsafe(entryName, `${p} is outside ${this.#prefix}/`);
  }

  /**
   * Where a link text leads from `fromDir`, following the symlinks seen so far the way the
   * kernel would (so `l -> ..` then `l/..` is seen to climb twice); or why it leads nowhere:
   * it leaves the root, or its links go round in a loop (Linux's ELOOP).
   */
  #resolve(fromDir: string, target: string, depth = 0): string | Unresolved {
    if (target.startsWith('/')) return { outside: true };
    if (depth > MAX_SYMLINK_DEPTH) return { loop: true };
    let cur = fromDir === '' ? [] : fromDir.split('/');
    for (const seg of target.split('/')) {
      if (seg === '' || seg === '.') continue;
      if (seg === '..') {
        if (cur.length === 0) return { outside: true };
        cur.pop();
        continue;
      }
      cur.push(seg);
      const link = this.#links.get(cur.join('/'));
      if (link !== undefined) {
        cur.pop();
        const via = this.#resolve(cur.join('/'), link, depth + 1);
        if (typeof via !== 'string') return via;
        cur = via === '' ? [] : via.split('/');
      }
    }
    return cur.join('/');
  }
}

type Unresolved = { outside: true } | { loop: true };

function linkProblem(target: string, why: Unresolved): string {
  return 'loop' in why
    ? `symlink target ${target} is a loop of symbolic links (more than ${MAX_SYMLINK_DEPTH} to follow)`
    : `symlink target ${target} resolves outside the archive root`;
}

function safeType(h: Header): SafeEntryType {
  const type = tarEntryType(h);
  if (type === 'char' || type === 'block' || type === 'fifo') throw unsafe(h.name, `special file (${h.type}) refused`);
  if (type === undefined) throw unsafe(h.name, `unsupported entry type ${String(h.type)}`);
  return type;
}

function checkName(entry: string, s: string): void {
  if (s.includes('\0')) throw unsafe(entry, 'NUL byte in name');
}

function unsafe(entry: string, reason: string): AirlockError {
  return new AirlockError('ARCHIVE_UNSAFE', `refused archive entry ${JSON.stringify(entry)}: ${reason}`, {
    details: { entry, reason },
  });
}
