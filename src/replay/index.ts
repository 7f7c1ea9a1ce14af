/** Replaying a sealed run from its bundle alone, and exporting bundles with their bytes. */
export { checkBases, type BaseCheck } from './bases.js';
export { openVerifiedBundle, recordedInputs, type OpenedBundle, type RecordedInputs } from './bundle.js';
export { exportBundle, type ExportResult } from './export.js';
export { reconstructWorkspace, type Reconstruction } from './reconstruct.js';
export { replayBundle, type InputCheck, type ReplayOptions, type ReplayResult } from './replay.js';
