import { toAirlockError } from '../errors.js';

export interface Check {
  name: string;
  ok: boolean;
}

/**
 * Runs verification steps in the order they are called and stops at the first
 * that throws. Each step is a small function; its result feeds the next, so a
 * step can only ever see data that the steps before it have vouched for.
 */
export class Verifier {
  /** one entry per step run so far, in order; only the last can be failed */
  readonly #checks: Check[] = [];

  async check<T>(name: string, step: () => T | Promise<T>): Promise<T> {
    try {
      const result = await step();
      this.#checks.push({ name, ok: true });
      return result;
    } catch (e) {
      this.#checks.push({ name, ok: false });
      const error = toAirlockError(e);
      error.details.check = name;
      throw error;
    }
  }

  get checks(): Check[] {
    return this.#checks.map((c) => ({ ...c }));
  }
}
