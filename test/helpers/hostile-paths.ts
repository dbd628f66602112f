/**
 * @module Generated request paths built the way an attacker builds them: every encoding of separators,
 * dots, parameters and letters (single, double, mixed case, overlong UTF-8), for property tests.
 */
import fc from 'fast-check';

/** Path pieces an attacker combines: every encoding of the separators, dots, parameters and letters. */
const piece = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('a', 'A', 'admin', 'Admin', 'rspamd', 'SOGo', 'x', '~u', '-', '_', '1', 'é'),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom('/', '//', '\\', '.', '..', '...', ';', ';x', ';a=b', '%', '?', '#'),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '%2f',
      '%2F',
      '%5c',
      '%2e',
      '%2E',
      '%3b',
      '%25',
      '%252f',
      '%252e',
      '%2561',
      '%61',
      '%41',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '%C0%AF',
      '%c0%ae',
      '%E0%80%AF',
      '%C3%A9',
      '%c3',
      '%e2%82%ac',
      '%00',
      '%20',
      '%7e',
      '%7E',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '%25%32%66',
      '%25%36%31',
      '%2',
      '%g0',
      '\u0000',
      '\t',
      '%ED%A0%80',
      '%F0%9F%98%80',
    ),
  },
);
export const hostilePath = fc
  .array(piece, { minLength: 1, maxLength: 10 })
  .map((parts) => `/${parts.join('')}`);
