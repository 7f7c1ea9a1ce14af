import { join, resolve } from 'node:path';
import type { AirlockError } from '../../errors.js';
import { parseSpec } from '../load.js';

/** A spec file path inside the test fixtures (golden files resolve against it). */
export const FIXTURE_SPEC = join(resolve(import.meta.dirname, '../fixtures/hello'), 'airlock.yaml');

/** The issues a refused spec reports; fails the test when the spec is accepted. */
export function issuesOf(text: string): { path: string; line: number; message: string }[] {
  try {
    parseSpec(text, FIXTURE_SPEC);
  } catch (e) {
    return (e as AirlockError).details.issues as { path: string; line: number; message: string }[];
  }
  throw new Error('expected the spec to be refused');
}
