import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../lib/errors.js';
import {
  checkQuota,
  checkRate,
  checkTokenRequest,
  checkTtl,
  MAX_QUOTA_PER_DAY,
  MAX_RATE_COUNT,
  type TokenRequestInput,
} from '../../../tokens/token-input.js';
import { thrownBy } from '../../helpers/thrown.js';

describe('token inputs', () => {
  it.each([
    ['ttl', () => checkTtl('90d', 'ttl'), 90 * 86_400_000],
    ['ttl at its lower bound', () => checkTtl('1s', 'ttl'), 1_000],
    ['ttl at its upper bound', () => checkTtl('3650d', 'ttl'), 3_650 * 86_400_000],
    ['rate', () => checkRate('60/min', 'rate'), { count: 60, perMs: 60_000 }],
    [
      'rate at its upper bound',
      () => checkRate(`${MAX_RATE_COUNT}/s`, 'rate'),
      { count: MAX_RATE_COUNT, perMs: 1_000 },
    ],
    ['quota', () => checkQuota('1000/day', 'quota'), 1_000],
    ['quota at its upper bound', () => checkQuota(`${MAX_QUOTA_PER_DAY}/d`, 'quota'), MAX_QUOTA_PER_DAY],
  ])('reads %s', (_what, check, expected) => {
    expect(check()).toEqual(expected);
  });

  it.each([
    [
      () => checkTtl('999ms', '--ttl'),
      "--ttl must be a duration from 1s to 3650d such as 90d or 12h, got '999ms'",
    ],
    [() => checkTtl('3651d', 'ttl'), 'ttl must be a duration from 1s to 3650d'],
    [() => checkTtl('soon', 'ttl'), 'ttl must be a duration from 1s to 3650d'],
    [
      () => checkRate(`${MAX_RATE_COUNT + 1}/min`, '--rate'),
      `--rate must be COUNT/UNIT with COUNT from 1 to ${MAX_RATE_COUNT}`,
    ],
    [() => checkRate('0/min', 'rate'), `rate must be COUNT/UNIT with COUNT from 1 to ${MAX_RATE_COUNT}`],
    [() => checkRate('60/week', 'rate'), `rate must be COUNT/UNIT with COUNT from 1 to ${MAX_RATE_COUNT}`],
    [
      () => checkQuota('1000000000/day', 'quota'),
      `quota must be COUNT/day with COUNT from 1 to ${MAX_QUOTA_PER_DAY}`,
    ],
    [
      () => checkQuota('1000/hour', '--quota'),
      `--quota must be COUNT/day with COUNT from 1 to ${MAX_QUOTA_PER_DAY}`,
    ],
    [() => checkQuota('0/day', 'quota'), `quota must be COUNT/day with COUNT from 1 to ${MAX_QUOTA_PER_DAY}`],
  ])('refuses with the field and both bounds: %#', (check, message) => {
    expect(check).toThrow(UsageError);
    expect(check).toThrow(message);
  });

  const request: TokenRequestInput = { app: 'shop', scopes: ['send', 'send'] };

  it('checks a whole request: defaults the ttl, de-duplicates scopes, leaves unset limits unset', () => {
    expect(checkTokenRequest(request)).toEqual({
      app: 'shop',
      scopes: ['send'],
      ttlMs: 90 * 86_400_000,
      rate: undefined,
      burst: undefined,
      quotaPerDay: undefined,
    });
    expect(
      checkTokenRequest({ ...request, ttl: '1h', rate: '10/min', burst: 5, quota: '100/day' }),
    ).toMatchObject({ ttlMs: 3_600_000, rate: { count: 10, perMs: 60_000 }, burst: 5, quotaPerDay: 100 });
  });

  it.each([
    ['app', { app: 'no spaces' }, 'app must be 1-64 characters'],
    ['scopes', { scopes: [] }, 'scopes needs at least one scope'],
    ['ttl', { ttl: '0s' }, 'ttl must be a duration from 1s to 3650d'],
    ['rate', { rate: 'fast' }, 'rate must be COUNT/UNIT'],
    ['burst', { burst: 0 }, `burst must be a whole number from 1 to ${MAX_RATE_COUNT}`],
    ['burst', { burst: 1.5 }, `burst must be a whole number from 1 to ${MAX_RATE_COUNT}`],
    ['burst', { burst: MAX_RATE_COUNT + 1 }, `burst must be a whole number from 1 to ${MAX_RATE_COUNT}`],
    ['quota', { quota: '5/min' }, 'quota must be COUNT/day'],
  ] as const)(
    'refuses a request with a bad %s, naming the field (as the caller labels it)',
    (field, bad, message) => {
      const refusal = (labelOf?: (field: keyof TokenRequestInput) => string) =>
        thrownBy<UsageError>(() => checkTokenRequest({ ...request, ...bad }, labelOf));
      expect(refusal()).toBeInstanceOf(UsageError);
      expect(refusal()).toMatchObject({ field, message: expect.stringContaining(message) });
      expect(refusal((name) => `--${name}`).message).toContain(`--${message}`);
    },
  );
});
