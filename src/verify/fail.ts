import { AirlockError, type ErrorCode } from '../errors.js';

/**
 * The error every verification step throws: a code, a sentence, and `what` was
 * checked `where` (a bundle file, a line, a blob dir), plus any expected/actual facts.
 */
export function verifyError(
  code: ErrorCode,
  message: string,
  what: string,
  where: string,
  extra: Record<string, unknown> = {},
): AirlockError {
  return new AirlockError(code, message, { details: { what, where, ...extra } });
}
