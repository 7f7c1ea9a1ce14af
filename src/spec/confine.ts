/**
 * Spec paths never leave the project. Every path a spec names (build contexts, Dockerfiles,
 * golden files, and whatever later keys name files) is resolved here, symlinks followed, and
 * refused when it lands outside the spec's folder: otherwise `file: ../../etc/shadow` or a
 * symlinked context would copy files from elsewhere on the host into blobs, transcripts and
 * reports. There is deliberately no opt-in.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export interface SpecPath {
  /** absolute, as written against the spec's folder (what the rest of airlock opens) */
  path: string;
  /** where it really is: symlinks followed in its longest existing prefix */
  real: string;
}

/**
 * Resolves a path written in a spec against the spec's folder `dir`, or says why it may
 * not be used: it leaves the project (after following symlinks), or it cannot be resolved.
 */
export function confine(dir: string, written: string): { ok: true; at: SpecPath } | { ok: false; problem: string; real?: string } {
  const path = resolve(dir, written);
  const root = realOf(dir);
  const real = realOf(path);
  if (typeof root !== 'string') return { ok: false, problem: `the spec's folder ${dir} cannot be resolved (${root.code})` };
  if (typeof real !== 'string') {
    const why = real.code === 'ELOOP' ? 'a loop of symbolic links' : `it cannot be resolved (${real.code})`;
    return { ok: false, problem: `${JSON.stringify(written)} cannot be used: ${why}` };
  }
  if (!isInside(real, root)) {
    return {
      ok: false,
      real,
      problem: `${JSON.stringify(written)} resolves to ${real}, outside the project ${root} (paths never leave the project)`,
    };
  }
  return { ok: true, at: { path, real } };
}

/** The real path of `path`, or of its nearest existing ancestor with the rest appended. */
function realOf(path: string): string | { code: string } {
  const rest: string[] = [];
  let head = path;
  for (;;) {
    try {
      return join(realpathSync(head), ...rest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'unknown';
      // Only "not there (yet)" walks up; a loop or a permission problem is an answer.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return { code };
      const parent = dirname(head);
      if (parent === head) return { code };
      rest.unshift(basename(head));
      head = parent;
    }
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
