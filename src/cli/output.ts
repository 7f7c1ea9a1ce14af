import type { AirlockError } from '../errors.js';

/**
 * The `--json` contract: every command's last stdout line is a `result` or an
 * `error` object with the same envelope, so scripts read any command alike.
 * Bumped only when a field of the envelope changes meaning or goes away;
 * spec/cli-output.schema.json (output-schema.ts) describes it.
 */
export const OUTPUT_SCHEMA_VERSION = 1;

interface Envelope {
  schemaVersion: typeof OUTPUT_SCHEMA_VERSION;
  /** the command's name, null when none was recognised */
  command: string | null;
  ok: boolean;
  exitCode: number;
  /** when the line was written (ISO 8601) */
  time: string;
}

function envelope(command: string | null, exitCode: number): Envelope {
  return { schemaVersion: OUTPUT_SCHEMA_VERSION, command, ok: exitCode === 0, exitCode, time: new Date().toISOString() };
}

/** A command's result line: the envelope, then the command's own fields (which cannot override the envelope's). */
export function resultLine(command: string, exitCode: number, fields: object): string {
  const head = { type: 'result', ...envelope(command, exitCode) };
  // assigning head twice keeps its keys first in the line and its values last-written
  return JSON.stringify(Object.assign({}, head, fields, head));
}

/** An error line: the envelope with ok false, the error's code, message and details. */
export function errorLine(command: string | null, err: AirlockError): string {
  return JSON.stringify({ type: 'error', ...envelope(command, err.exitCode), ok: false, ...err.toJSON() });
}
