/** Why two builds differ: per-path differences, archive members, likely causes with evidence. */
export { archiveKind, openArchive, type ArchiveKind, type GzipHeader, type OpenedArchive } from './archive.js';
export { diffoscopeReport, type DiffoscopeOptions } from './diffoscope.js';
export { renderDiffText } from './render.js';
export { findTimestamps, type FoundTimestamp } from './timestamps.js';
export { diffTrees } from './tree.js';
export type { CauseKind, DiffContext, DiffEntry, DiffKind, DiffOptions, FileSide, LikelyCause, RunFacts } from './types.js';
