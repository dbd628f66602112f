import { describe, expect, it } from 'vitest';
import { decisionFromReply } from '../../../gateway/redis-limiter.js';
import { RateLimiter } from '../../../tokens/rate-limiter.js';
import type { TokenLimits } from '../../../tokens/token-limits.js';
import { tempDatabase } from '../../helpers/temp-store.js';

const limits: TokenLimits = { rate: { count: 5, perMs: 60_000 }, burst: 3, quotaPerDay: undefined };
const NOON = Date.UTC(2026, 0, 1, 12);

describe('decisionFromReply', () => {
  it.each([
    ['not an array', 'OK'],
    ['too short', [0, 1, 2]],
    ['a string member', [0, '60000', 0, NOON]],
    ['a fraction', [0, 0.5, 0, NOON]],
    ['an unknown outcome', [7, 0, 0, NOON]],
    ['a quota refusal for a token without a quota', [2, 0, 5, NOON]],
    ['null', null],
  ])('reads %s as no answer (never an admission)', (_name, reply) => {
    expect(decisionFromReply(reply, limits)).toBeUndefined();
  });

  it('gives the headers the local limiter gives for the same bucket', () => {
    // The local limiter's three admissions and its refusal, and the script's replies for the same state.
    const local = new RateLimiter(tempDatabase('mg-rl-').db, {
      now: () => NOON,
      flushIntervalMs: 0,
    });
    const cap = limits.burst * limits.rate.perMs;
    for (let taken = 1; taken <= 3; taken++) {
      const credits = cap - taken * limits.rate.perMs;
      expect(decisionFromReply([0, credits, taken - 1, NOON], limits)).toEqual(local.check('t', limits));
    }
    expect(decisionFromReply([1, 0, 3, NOON], limits)).toEqual(local.check('t', limits));
    local.close();
  });

  it('a quota refusal lasts until UTC midnight', () => {
    const decision = decisionFromReply([2, 0, 9, NOON], { ...limits, quotaPerDay: 9 });
    expect(decision).toEqual({
      allowed: false,
      limit: 9,
      remaining: 0,
      resetSeconds: 43_200,
      retryAfterSeconds: 43_200,
      reason: 'quota',
    });
  });
});
