/**
 * @module The rule for peer names: the same as certificate names, safe as a file name and in a wg-quick comment.
 */
import { UsageError } from '../lib/errors.js';

const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/**
 * Returns `name` when it is 1-64 of `A-Z a-z 0-9 . _ @ -` without `..` (it becomes `DIR/NAME.conf`).
 * @throws UsageError naming the argument.
 * @example validatePeerName('alice@laptop') // 'alice@laptop'
 */
export function validatePeerName(name: string): string {
  if (!NAME.test(name) || name.includes('..')) {
    throw new UsageError(
      `peer NAME must be 1-64 characters of letters, digits, '.', '_', '@' and '-' without '..', got '${name}'`,
    );
  }
  return name;
}
