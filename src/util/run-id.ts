import { randomBytes } from 'node:crypto';

/** A run's id: its UTC start to the second, then 8 random hex digits (sortable by time, unique across machines). */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(4).toString('hex')}`;
}
