import type { Readable } from 'node:stream';

/** One message of the engine's JSON progress stream (build, import). */
export interface EngineMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/**
 * Reads the engine's newline-delimited JSON messages as they arrive. The engine
 * reports build failures *inside* a 200 response, so callers must look at
 * `error` on every message, not only at the HTTP status.
 */
export async function readEngineMessages(stream: Readable, onMessage: (m: EngineMessage) => void): Promise<void> {
  let pending = '';
  const flush = (line: string) => {
    const trimmed = line.trim();
    if (trimmed === '') return;
    try {
      onMessage(JSON.parse(trimmed) as EngineMessage);
    } catch {
      onMessage({ stream: `${trimmed}\n` });
    }
  };
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      flush(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  }
  flush(pending);
}
