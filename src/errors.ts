/**
 * One error type for the whole controller: a stable `code` (documented, matched by
 * tests and by scripts reading `--json`), a human message, optional structured
 * `details`, and the process exit code the CLI uses for it.
 */

/** Exit codes of every `airlock` command (README "Exit codes" documents the same table). */
export const EXIT = {
  OK: 0,
  /** the run completed but an expectation failed (or a check came out negative) */
  FAILED: 1,
  USAGE: 2,
  ENGINE: 3,
  SPEC: 4,
  BUILD: 5,
  POLICY: 6,
  VERIFY: 7,
  STORE: 8,
  KEY: 9,
  /** a pinned input could not be fetched, did not match its pin, or is not pinned */
  FETCH: 11,
  INTERNAL: 10,
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every error code, grouped by the exit code it maps to. */
const CODES = {
  USAGE: EXIT.USAGE,

  ENGINE_UNAVAILABLE: EXIT.ENGINE,
  ENGINE_ERROR: EXIT.ENGINE,
  RUNTIME_UNAVAILABLE: EXIT.ENGINE,
  /** a cell whose limits (with its services') exceed every engine of the run */
  PLACEMENT_IMPOSSIBLE: EXIT.ENGINE,
  /** an image shipped to another engine measured differently there than where it was built */
  IMAGE_MISMATCH: EXIT.ENGINE,
  BASE_IMAGE_MISSING: EXIT.ENGINE,
  BASE_LOCK_MISMATCH: EXIT.ENGINE,
  BASE_BUILD_FAILED: EXIT.ENGINE,
  /** a lock file that does not parse or is of an older format */
  BASE_LOCK_INVALID: EXIT.ENGINE,
  /** a locked .deb is neither in the CAS nor on the mirror (or offline) */
  BASE_LOCK_UNSATISFIED: EXIT.ENGINE,
  /** `airlock base update` could not read or trust the mirror's indexes */
  BASE_RESOLVE_FAILED: EXIT.FETCH,

  SPEC_NOT_FOUND: EXIT.SPEC,
  SPEC_YAML: EXIT.SPEC,
  SPEC_INVALID: EXIT.SPEC,

  BUILD_FAILED: EXIT.BUILD,
  CONTEXT_INVALID: EXIT.BUILD,
  ARCHIVE_UNSAFE: EXIT.POLICY,

  POLICY_VIOLATION: EXIT.POLICY,

  STEP_FAILED: EXIT.FAILED,
  SERVICE_UNHEALTHY: EXIT.FAILED,
  NOT_REPRODUCIBLE: EXIT.FAILED,

  FETCH_FAILED: EXIT.FETCH,
  FETCH_HASH_MISMATCH: EXIT.FETCH,
  FETCH_NOT_PINNED: EXIT.FETCH,
  FETCH_OFFLINE_MISS: EXIT.FETCH,

  // verification: one code per reason, in the order verify checks them
  BUNDLE_MISSING_FILE: EXIT.VERIFY,
  /** a bundle file that is a symlink, a fifo, a device or larger than verify reads */
  BUNDLE_FILE_UNSAFE: EXIT.VERIFY,
  ENVELOPE_MALFORMED: EXIT.VERIFY,
  /** a trusted public key file (locks/keys/*.pub.pem or --key) that is not a key: nothing can be verified against it */
  TRUSTED_KEY_INVALID: EXIT.VERIFY,
  KEY_UNTRUSTED: EXIT.VERIFY,
  SIGNATURE_INVALID: EXIT.VERIFY,
  STATEMENT_MALFORMED: EXIT.VERIFY,
  STATEMENT_TYPE: EXIT.VERIFY,
  PREDICATE_TYPE: EXIT.VERIFY,
  TRANSCRIPT_MALFORMED: EXIT.VERIFY,
  TRANSCRIPT_CHAIN_BROKEN: EXIT.VERIFY,
  /** an event whose phase is unknown or whose data does not match its phase's schema */
  TRANSCRIPT_EVENT_INVALID: EXIT.VERIFY,
  SUBJECT_MISMATCH: EXIT.VERIFY,
  MANIFEST_MISMATCH: EXIT.VERIFY,
  BLOB_MISSING: EXIT.VERIFY,
  BLOB_DIGEST_MISMATCH: EXIT.VERIFY,
  /** a blob that is a symlink, a fifo or a device instead of a regular file */
  BLOB_UNSAFE: EXIT.VERIFY,
  /** the signed statement records no policy for an environment whose cells ran */
  POLICY_MISSING: EXIT.VERIFY,
  POLICY_NOT_ENFORCED: EXIT.VERIFY,

  CAS_CORRUPT: EXIT.STORE,
  CAS_IO: EXIT.STORE,
  LEDGER_ERROR: EXIT.STORE,
  /** AIRLOCK_REMOTE_CACHE (or its credentials) cannot be used: refused before anything runs */
  REMOTE_CACHE_INVALID: EXIT.USAGE,
  // The remote cache never fails a run: these codes name the warnings it gives instead.
  /** the remote cache could not be reached (refused, reset, timed out): the command goes on with the local stores only */
  REMOTE_CACHE_UNAVAILABLE: EXIT.STORE,
  /** the remote cache answered with an HTTP error or a body larger than airlock reads */
  REMOTE_CACHE_ERROR: EXIT.STORE,
  /** a remote action-cache entry that is not a DSSE envelope over a cached cell of the key it was stored under */
  CACHE_ENTRY_INVALID: EXIT.STORE,

  KEY_MISSING: EXIT.KEY,
  KEY_INVALID: EXIT.KEY,

  INTERRUPTED: EXIT.INTERRUPTED,
  INTERNAL: EXIT.INTERNAL,
} as const satisfies Record<string, ExitCode>;

export type ErrorCode = keyof typeof CODES;

export interface ErrorOptions {
  cause?: unknown;
  /** structured facts a machine reader needs (paths, digests, expected vs actual) */
  details?: Record<string, unknown>;
}

export class AirlockError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AirlockError';
    this.code = code;
    this.details = options.details ?? {};
  }

  get exitCode(): ExitCode {
    return CODES[this.code];
  }

  /** Plain JSON (undefined fields dropped), fit for transcripts and `--json` output. */
  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: JSON.parse(JSON.stringify(this.details)) as Record<string, unknown> };
  }
}

export function isAirlockError(e: unknown, code?: ErrorCode): e is AirlockError {
  return e instanceof AirlockError && (code === undefined || e.code === code);
}

/**
 * Wraps anything thrown into an AirlockError, keeping coded errors as they are. What the
 * engine client throws gets the engine's codes (exit 3), not INTERNAL: a refused or reset
 * connection (the engine went away mid-run) is ENGINE_UNAVAILABLE, an HTTP error the engine
 * answered with (docker-modem's `statusCode` + `json`) is ENGINE_ERROR quoting it.
 */
export function toAirlockError(e: unknown): AirlockError {
  if (e instanceof AirlockError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const fields = (typeof e === 'object' && e !== null ? e : {}) as { code?: unknown; syscall?: unknown; statusCode?: unknown; json?: unknown; address?: unknown };
  if (fields.syscall === 'connect' || fields.code === 'ECONNRESET' || fields.code === 'EPIPE' || message === 'socket hang up') {
    return new AirlockError('ENGINE_UNAVAILABLE', `the container engine went away: ${message}`, {
      cause: e,
      details: { errno: fields.code ?? null, ...(typeof fields.address === 'string' ? { address: fields.address } : {}) },
    });
  }
  if (typeof fields.statusCode === 'number' && 'json' in fields) {
    return new AirlockError('ENGINE_ERROR', `the container engine refused: ${message}`, { cause: e, details: { status: fields.statusCode } });
  }
  return new AirlockError('INTERNAL', message, { cause: e });
}
