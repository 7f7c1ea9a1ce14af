import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../errors.js';
import { INPUTS_LOCK_FILE } from '../fetch/lock.js';
import { COMMANDS, findCommand } from './registry.js';
import { INPUTS_LOCK_NAME } from './usage/fetch.js';

async function usageError(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (e) {
    if (isAirlockError(e, 'USAGE')) return e.message;
    throw e;
  }
  throw new Error('expected a usage error');
}

describe('the command registry', () => {
  it('gives every command a usage text naming it and the common flags', () => {
    for (const c of COMMANDS) {
      expect(c.usage, c.name).toMatch(new RegExp(`^usage: airlock ${c.name}\\b`));
      expect(c.usage, c.name).toContain('--json');
      expect(c.usage, c.name).toContain('--root');
    }
  });

  it('suggests the nearest command for a misspelt one', async () => {
    expect(await usageError(async () => findCommand('verfy'))).toBe('unknown command "verfy" (did you mean "verify"?); run airlock --help');
    expect(await usageError(async () => findCommand('zzzzzz'))).not.toContain('did you mean');
  });

  it('suggests the nearest flag for a misspelt one, before loading the body', async () => {
    const message = await usageError(() => findCommand('verify').run(['--jsn']));
    expect(message).toMatch(/^Unknown option '--jsn' \(did you mean "--json"\?\)\n\nusage: airlock verify/);
    expect(await usageError(() => findCommand('run').run(['--fil', 'x']))).toContain('(did you mean "--file"?)');
  });

  it('shows the inputs lock under the name fetch/ writes it', () => {
    expect(INPUTS_LOCK_NAME).toBe(INPUTS_LOCK_FILE);
  });
});
