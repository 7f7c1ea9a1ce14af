import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AirlockError, toAirlockError } from './errors.js';

/** The error a client gets connecting to a socket nothing listens on (what a killed dockerd leaves). */
const refused = () =>
  new Promise<Error>((resolve) => {
    const socket = createConnection('/nonexistent/airlock-engine.sock');
    socket.on('error', resolve);
  });

describe('toAirlockError', () => {
  it('keeps coded errors as they are', () => {
    const e = new AirlockError('SPEC_INVALID', 'x');
    expect(toAirlockError(e)).toBe(e);
  });

  it('a connection the engine refused or dropped is ENGINE_UNAVAILABLE (exit 3), not INTERNAL', async () => {
    const e = toAirlockError(await refused());
    expect(e).toMatchObject({ code: 'ENGINE_UNAVAILABLE', exitCode: 3, message: expect.stringContaining('the container engine went away') });
    for (const code of ['ECONNRESET', 'EPIPE']) expect(toAirlockError(Object.assign(new Error(code), { code })).code).toBe('ENGINE_UNAVAILABLE');
    expect(toAirlockError(new Error('socket hang up')).code).toBe('ENGINE_UNAVAILABLE');
  });

  it('an HTTP error the engine answered with is ENGINE_ERROR quoting it', () => {
    const modem = Object.assign(new Error('(HTTP code 500) server error - invalid user 4294967296'), { statusCode: 500, json: { message: 'invalid user' } });
    expect(toAirlockError(modem)).toMatchObject({ code: 'ENGINE_ERROR', exitCode: 3, details: { status: 500 }, message: expect.stringContaining('invalid user 4294967296') });
  });

  it('anything else is INTERNAL', () => {
    expect(toAirlockError(new TypeError('x is undefined')).code).toBe('INTERNAL');
    expect(toAirlockError('a string').code).toBe('INTERNAL');
  });
});
