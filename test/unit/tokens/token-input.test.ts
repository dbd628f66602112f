import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../lib/errors.js';
import {
  checkQuota,
  checkRate,
  checkTtl,
  MAX_QUOTA_PER_DAY,
  MAX_RATE_COUNT,
} from '../../../tokens/token-input.js';

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
});
