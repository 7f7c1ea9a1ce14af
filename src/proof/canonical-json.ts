import { createRequire } from 'node:module';
import { AirlockError } from '../errors.js';

// `canonicalize` is CommonJS whose typings claim an ES default export; loading it
// through require gives the function itself with a type that tells the truth.
const serialize = createRequire(import.meta.url)('canonicalize') as (input: unknown) => string | undefined;

/** A lone UTF-16 surrogate: RFC 8785 (via I-JSON) requires rejecting it. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * RFC 8785 (JCS) serialization: keys sorted by UTF-16 code units, ECMAScript
 * number formatting, minimal string escaping, no whitespace. Used wherever bytes
 * are hashed or signed, so anything that JSON.stringify would silently drop or
 * mangle (undefined, NaN, Infinity, functions, bigint, cycles) is refused instead.
 */
export function canonicalJson(value: unknown): string {
  assertJsonable(value, '$', new Set());
  const text = serialize(value);
  if (text === undefined) throw invalid('$', 'value has no JSON representation');
  return text;
}

/** The UTF-8 bytes of {@link canonicalJson}. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

function assertJsonable(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
      if (LONE_SURROGATE.test(value)) throw invalid(path, 'string contains a lone surrogate');
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw invalid(path, `number ${value} is not finite`);
      return;
    case 'undefined':
    case 'function':
    case 'symbol':
    case 'bigint':
      throw invalid(path, `${typeof value} is not JSON`);
    case 'object': {
      if (value === null) return;
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        assertJsonable(toJSON.call(value), path, ancestors);
        return;
      }
      if (ancestors.has(value)) throw invalid(path, 'cycle');
      ancestors.add(value);
      if (Array.isArray(value)) {
        value.forEach((item, i) => assertJsonable(item, `${path}[${i}]`, ancestors));
      } else {
        for (const [key, item] of Object.entries(value)) {
          if (LONE_SURROGATE.test(key)) throw invalid(`${path}.${key}`, 'key contains a lone surrogate');
          assertJsonable(item, `${path}.${key}`, ancestors);
        }
      }
      ancestors.delete(value);
      return;
    }
  }
}

function invalid(path: string, reason: string): AirlockError {
  return new AirlockError('INTERNAL', `cannot canonicalize JSON at ${path}: ${reason}`, { details: { path } });
}
