import type { DebianRecipe } from './debian.js';

/** The base images specs build FROM, all made locally (nothing can be pulled). */
export type BaseRecipe = { ref: string; kind: 'busybox' } | { ref: string; kind: 'debian'; debian: DebianRecipe };

/** 2023-06-10, bookworm's release: a fixed epoch so mmdebstrap's output is bit-reproducible. */
const EPOCH = 1686355200;

export const BASE_IMAGES: readonly BaseRecipe[] = [
  { ref: 'airlock/busybox:latest', kind: 'busybox' },
  { ref: 'airlock/debian:bookworm', kind: 'debian', debian: { suite: 'bookworm', include: [], sourceDateEpoch: EPOCH } },
  {
    ref: 'airlock/debian:bookworm-build',
    kind: 'debian',
    debian: { suite: 'bookworm', include: ['gcc', 'libc6-dev', 'make'], sourceDateEpoch: EPOCH },
  },
];

/** `airlock/busybox` means `airlock/busybox:latest`, as the engine reads it. */
export function normalizeRef(ref: string): string {
  const lastSegment = ref.slice(ref.lastIndexOf('/') + 1);
  return lastSegment.includes(':') || ref.includes('@') ? ref : `${ref}:latest`;
}

export function findBase(ref: string): BaseRecipe | undefined {
  const want = normalizeRef(ref);
  return BASE_IMAGES.find((b) => b.ref === want);
}
