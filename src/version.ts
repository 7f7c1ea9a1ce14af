import { createRequire } from 'node:module';

/** airlock's own version, from package.json (one level above both src/ and dist/). */
export const AIRLOCK_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** The builder id recorded in provenance. */
export const BUILDER_ID = 'https://airlock.dev/builder/airlock';
