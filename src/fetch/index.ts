/** Fetch phase: the only network airlock uses, for inputs pinned by sha256, into the CAS. */
export { fetchInputs } from './fetch.js';
export {
  emptyInputsLock,
  INPUTS_LOCK_FILE,
  lockInputs,
  readInputsLock,
  serializeInputsLock,
  writeInputsLock,
  type InputsLock,
  type InputsLockEntry,
} from './lock.js';
export { checkInputs, resolvePins, type Pin, type PlannedInput } from './pins.js';
export type { FailureReason } from './retry.js';
export type { FetchedInput, FetchOptions, FetchProgress, InputSpec } from './types.js';
export { displayUrl, urlProblem } from './url.js';
