/** The spec layer: reading `airlock.yaml` into the normalized `Spec` the orchestrator runs. */
export { loadSpec, parseSpec } from './load.js';
export { DEFAULT_POLICY, LOOSENABLE_KEYS, isRootUser, type LoosenableKey } from './policy.js';
export { SPEC_SCHEMA_ID, specJsonSchema, specJsonSchemaText } from './json-schema.js';
export type * from './types.js';
