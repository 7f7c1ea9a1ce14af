import { z } from 'zod';

import { AirlockError, isAirlockError } from '../errors.js';
import { canonicalBytes } from '../proof/canonical-json.js';
import { DigestSchema } from '../proof/digest-schema.js';
import { decodeBase64, EnvelopeSchema, signEnvelope, verifyEnvelope } from '../proof/dsse.js';
import type { PublicKey, SigningKey } from '../proof/keys.js';
import { CachedStepSchema, OutputSetSchema } from '../proof/transcript-events-common.js';
import type { Digest } from '../util/digest.js';
import type { CachedCell } from './action-cache.js';
import { cacheKey, type CacheKeyInputs } from './key.js';

/**
 * A cached cell as the remote cache keeps it: a DSSE envelope over the cell's RFC 8785 JSON,
 * signed by the key of the run that proved it. Another machine takes it only when a key it
 * trusts signed it and it is the entry of the very key it asked for.
 */
export const CACHED_CELL_PAYLOAD_TYPE = 'application/vnd.airlock.cached-cell.v1+json';

const CachedCellSchema = z.object({
  key: DigestSchema,
  cell: z.string().min(1),
  inputs: z.looseObject({ rootfsDigest: DigestSchema, cellFormatVersion: z.int() }),
  cellFormatVersion: z.int(),
  steps: z.array(CachedStepSchema),
  outputs: z.array(OutputSetSchema),
  durationMs: z.number().nonnegative(),
  source: z.object({ runId: z.string().min(1), bundleDir: z.string(), transcriptSeq: z.int().nonnegative() }),
  storedAt: z.string(),
});

/** The envelope's bytes. Only the origin's facts are signed: where this machine got the entry from is not. */
export function sealCachedCell(cell: CachedCell, key: SigningKey): Buffer {
  const { remote: _, ...source } = cell.source;
  // through JSON first, as the ledger keeps it: absent optional inputs (undefined) are left out
  const plain = JSON.parse(JSON.stringify({ ...cell, source })) as unknown;
  const envelope = signEnvelope(CACHED_CELL_PAYLOAD_TYPE, canonicalBytes(plain), key);
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

/**
 * The cell in `bytes`, checked in order: an envelope (CACHE_ENTRY_INVALID); signed by a
 * trusted key (KEY_UNTRUSTED, SIGNATURE_INVALID, from dsse.ts); of airlock's payload type and
 * shape; the entry of `key` — named so, and its inputs hash to it (CACHE_ENTRY_INVALID: an
 * entry signed for one key replayed under another).
 */
export function openCachedCell(bytes: Buffer, key: Digest, trusted: readonly PublicKey[]): { cell: CachedCell; keyid: string } {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid(key, 'is not JSON');
  }
  const envelope = EnvelopeSchema.safeParse(json);
  if (!envelope.success) throw invalid(key, 'is not a DSSE envelope');
  const { keyid } = verifyEnvelope(envelope.data, trusted);
  if (envelope.data.payloadType !== CACHED_CELL_PAYLOAD_TYPE) throw invalid(key, `has payload type ${JSON.stringify(envelope.data.payloadType)}`);
  let payload: unknown;
  try {
    payload = JSON.parse(decodeBase64(envelope.data.payload).toString('utf8'));
  } catch {
    throw invalid(key, 'has a payload that is not JSON');
  }
  const parsed = CachedCellSchema.safeParse(payload);
  if (!parsed.success) throw invalid(key, `is not a cached cell (${parsed.error.issues[0]?.path.join('.') || 'root'}: ${parsed.error.issues[0]?.message})`);
  const cell = parsed.data as unknown as CachedCell;
  if (cell.key !== key || cacheKey(cell.inputs as CacheKeyInputs).key !== key) throw invalid(key, `is the entry of another key (${cell.key})`);
  return { cell, keyid };
}

/** Whether an error is one of the reasons openCachedCell refuses an entry (as opposed to a bug). */
export function isRefusedEntry(e: unknown): e is AirlockError {
  return isAirlockError(e) && ['CACHE_ENTRY_INVALID', 'KEY_UNTRUSTED', 'SIGNATURE_INVALID'].includes(e.code);
}

function invalid(key: Digest, what: string): AirlockError {
  return new AirlockError('CACHE_ENTRY_INVALID', `the remote cache entry of ${key} ${what}`, { details: { key } });
}
