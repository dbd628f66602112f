/**
 * @module The error a call throws, for tests asserting on its code, message and fields.
 */
import type { MailgateError } from '../../lib/errors.js';

/**
 * Runs `run` and returns what it threw. @throws Error when it returned instead.
 * @example expect(thrownBy(() => parseEndpoint('x')).code).toBe('ERR_USAGE')
 */
export function thrownBy<E = MailgateError>(run: () => unknown): E {
  try {
    run();
  } catch (error) {
    return error as E;
  }
  throw new Error('expected a throw');
}
