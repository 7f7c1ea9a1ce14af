import type { Dispatcher } from 'undici';

import type { Cas } from '../store/cas.js';
import type { Digest } from '../util/digest.js';
import type { InputsLock } from './lock.js';

/** One entry of the spec's `inputs:` list. */
export interface InputSpec {
  /** unique among the inputs; the key in the lock */
  name: string;
  /** absolute http(s) URL without credentials */
  url: string;
  /** 64 lowercase hex digits; when absent the lock's pin is used, or (not frozen) the digest is learned */
  sha256?: string;
}

export interface FetchedInput {
  name: string;
  /** the URL as written in the spec */
  url: string;
  digest: Digest;
  size: number;
  /** `cache`: the pinned blob was already in the CAS and nothing was downloaded */
  source: 'cache' | 'network';
  /** HTTP attempts made (0 for a cache hit) */
  attempts: number;
  durationMs: number;
  /** where the content came from after redirects, secret-looking query values replaced by `***` */
  finalUrl: string;
}

/** Progress of `fetchInputs`, one tagged event at a time. */
export type FetchProgress =
  | { kind: 'cached'; name: string; digest: Digest }
  | { kind: 'start'; name: string; url: string; attempt: number }
  | { kind: 'redirect'; name: string; from: string; to: string; status: number }
  | { kind: 'bytes'; name: string; received: number; total: number | undefined }
  | { kind: 'retry'; name: string; attempt: number; delayMs: number; reason: string }
  | { kind: 'done'; name: string; digest: Digest; size: number; source: 'cache' | 'network' };

export interface FetchOptions {
  /** where downloaded content is stored, and where pinned content is looked up first */
  cas: Cas;
  /** the current `locks/inputs.lock.json` (see `readInputsLock`) */
  lock: InputsLock;
  /** refuse any input without a pin (FETCH_NOT_PINNED) instead of learning its digest. Default false. */
  frozen?: boolean;
  /** never touch the network: every input must be pinned and in the CAS (else FETCH_OFFLINE_MISS). Default false. */
  offline?: boolean;
  /** per attempt: connect, response headers, and the longest silence while the body streams. Default 30000 ms. */
  timeoutMs?: number;
  /** extra attempts after a network error, timeout, truncated body, 5xx or 429. Default 3. */
  retries?: number;
  /** first retry delay; doubles each retry (with jitter), capped at 10 s; Retry-After wins when given. Default 500 ms. */
  retryDelayMs?: number;
  /** redirects followed per attempt (301, 302, 303, 307, 308). Default 5. */
  maxRedirects?: number;
  /** refuse content longer than this. Default 2 GiB. */
  maxBytes?: number;
  /** inputs downloaded at the same time. Default 4. */
  concurrency?: number;
  /** aborts every download; temp files are removed and the signal's reason is thrown */
  signal?: AbortSignal;
  onProgress?: (event: FetchProgress) => void;
  /** the undici dispatcher to use (tests, proxies); by default a private Agent closed when done */
  dispatcher?: Dispatcher;
}
