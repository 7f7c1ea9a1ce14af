import dockerignore, { type Ignore } from '@balena/dockerignore';
import { posix } from 'node:path';

import { AirlockError } from '../errors.js';

/**
 * `.dockerignore` as the Docker CLI applies it when it sends a build context: the file is
 * parsed like moby's `dockerignore.ReadAll`, matching is moby's `fileutils` (through
 * @balena/dockerignore, case-sensitive as on Linux), and the directory-skipping rule is the
 * one of `archive.TarWithOptions`.
 */
export class DockerIgnore {
  /** patterns after ReadAll's normalization, `!` kept, in file order */
  readonly patterns: readonly string[];
  readonly #matcher: Ignore;
  /** the exception patterns without their `!` (they can keep an excluded directory walked) */
  readonly #exceptions: readonly string[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
    // a CommonJS module whose typings declare `export default`: the factory is on `.default`
    this.#matcher = dockerignore.default({ ignorecase: false }).add([...patterns]);
    this.#exceptions = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
  }

  /** Parses `.dockerignore` text (moby builder/dockerignore ReadAll). */
  static parse(text: string): DockerIgnore {
    const patterns: string[] = [];
    const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
    for (const [i, line] of lines.entries()) {
      if (line.startsWith('#')) continue;
      let p = line.trim();
      if (p === '') continue;
      const invert = p.startsWith('!');
      if (invert) p = p.slice(1).trim();
      if (p.length > 0) {
        p = posix.normalize(p).replace(/(?<=.)\/$/, '');
        if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
      } else {
        throw new AirlockError('CONTEXT_INVALID', `.dockerignore line ${i + 1}: illegal exclusion pattern "!"`, {
          details: { file: '.dockerignore', line: i + 1 },
        });
      }
      patterns.push(invert ? `!${p}` : p);
    }
    return new DockerIgnore(patterns);
  }

  /** Whether the context path (relative, `/`-separated) is excluded. */
  ignores(path: string): boolean {
    try {
      return this.#matcher.ignores(path);
    } catch (e) {
      throw new AirlockError('CONTEXT_INVALID', `.dockerignore has an invalid pattern: ${String(e)}`, { cause: e });
    }
  }

  /**
   * For an excluded directory: whether it must still be walked because an exception pattern
   * starts with it (`!dir/keep`). Docker then sends the kept files but not the directory entry.
   */
  mustDescend(dir: string): boolean {
    const prefix = `${dir}/`;
    return this.#exceptions.some((p) => `${p}/`.startsWith(prefix));
  }

  /** The CLI's TrimBuildFilesFromExcludes: `.dockerignore` and the Dockerfile are always sent. */
  keeping(paths: readonly string[]): DockerIgnore {
    const extra = paths.filter((p) => this.ignores(p)).map((p) => `!${p}`);
    return extra.length === 0 ? this : new DockerIgnore([...this.patterns, ...extra]);
  }
}
