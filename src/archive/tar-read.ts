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
