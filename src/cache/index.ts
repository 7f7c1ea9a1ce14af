export { CELL_FORMAT_VERSION, cacheKey, type CacheKey, type CacheKeyInputs } from './key.js';
export { explainKeyChange, MAX_LEAVES_PER_COMPONENT, type KeyChange } from './explain.js';
export { MemoryActionCache, type ActionCache, type CachedCell, type CachedOutput, type CachedSource, type CachedStep, type CachedStream } from './action-cache.js';
