import type { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';

import { AirlockError, isAirlockError } from '../errors.js';

/**
 * Feeds each entry of a tar stream to `onEntry`, one at a time, in archive order.
 * `onEntry` may read the body or not (the rest is drained). Errors: the source's own
 * error as it is; a malformed archive as ARCHIVE_UNSAFE; whatever `onEntry` throws, after
 * the source has been destroyed (nothing is left reading or writing).
 */
export async function forEachTarEntry(
  src: Readable,
  onEntry: (header: Header, body: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const ex = extract();
  let srcError: unknown;
  const onSrcError = (e: unknown): void => {
    srcError = e;
    ex.destroy(e instanceof Error ? e : new Error(String(e)));
  };
  src.on('error', onSrcError);
  src.pipe(ex);
  let entryFailed = false;
  let entryError: unknown;
  try {
    for await (const entry of ex) {
      try {
        await onEntry(entry.header, entry as AsyncIterable<Buffer>);
      } catch (e) {
        entryFailed = true;
        entryError = e;
        throw e;
      }
      entry.resume();
    }
    if (srcError !== undefined) throw srcError;
  } catch (e) {
    src.unpipe(ex);
    src.destroy();
    ex.destroy();
    if (entryFailed) throw entryError;
    if (srcError !== undefined) throw srcError;
    if (isAirlockError(e)) throw e;
    // tar-stream's own errors: truncated, bad checksum, unknown format
    throw new AirlockError('ARCHIVE_UNSAFE', `malformed tar archive: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}

/** The kinds of filesystem entry a tar can hold, as airlock names them. */
export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** What a tar header describes, or undefined for a type airlock does not handle (GNU extensions, …). */
export function tarEntryType(h: Header): TarEntryType | undefined {
  switch (h.type) {
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null:
      return 'file';
    case 'directory':
      return 'dir';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    case 'character-device':
      return 'char';
    case 'block-device':
      return 'block';
    case 'fifo':
      return 'fifo';
    default:
      return undefined;
  }
}
