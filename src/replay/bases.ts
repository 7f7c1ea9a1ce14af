import type { Engine } from '../engine/engine.js';
import { isNotFound } from '../engine/client.js';
import { LABEL_ROOTFS } from '../engine/labels.js';
import type { RecordedInputs } from './bundle.js';

export interface BaseCheck {
  ref: string;
  /** the normalized rootfs digest the run recorded (from the image's label), if any */
  recorded: string | null;
  /** what the engine's image of that name carries now */
  actual: string | null;
  status: 'match' | 'mismatch' | 'missing' | 'unpinned';
  message: string;
}

/**
 * The engine's base images against the ones the run recorded, by their rootfs digest
 * labels: a replay on other bases is another build, and must say so plainly.
 */
export async function checkBases(engine: Engine, bases: RecordedInputs['bases']): Promise<BaseCheck[]> {
  const out: BaseCheck[] = [];
  for (const b of bases) {
    let actual: string | null = null;
    try {
      const inspected = await engine.images.inspect(b.ref);
      actual = inspected.Config?.Labels?.[LABEL_ROOTFS] ?? null;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      out.push({ ref: b.ref, recorded: b.rootfsDigest, actual: null, status: 'missing', message: `base ${b.ref} is not in this engine (run \`airlock base\`)` });
      continue;
    }
    if (b.rootfsDigest === null) {
      out.push({ ref: b.ref, recorded: null, actual, status: 'unpinned', message: `base ${b.ref}: the run recorded no rootfs digest for it (image ${b.imageId}); it cannot be checked` });
    } else if (actual === b.rootfsDigest) {
      out.push({ ref: b.ref, recorded: b.rootfsDigest, actual, status: 'match', message: `base ${b.ref}: rootfs ${actual} as recorded` });
    } else {
      out.push({
        ref: b.ref,
        recorded: b.rootfsDigest,
        actual,
        status: 'mismatch',
        message: `base ${b.ref} DOES NOT MATCH the run's: recorded rootfs ${b.rootfsDigest}, this engine has ${actual ?? 'an image without a rootfs label'}; the replay builds on other bases`,
      });
    }
  }
  return out;
}
