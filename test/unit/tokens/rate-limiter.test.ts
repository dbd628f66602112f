import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../../store/database.js';
import { RateLimiter } from '../../../tokens/rate-limiter.js';
import type { TokenLimits } from '../../../tokens/token-limits.js';
import { tempDatabase } from '../../helpers/temp-store.js';
import { issueTestToken } from '../../helpers/test-token.js';

const NOON = Date.UTC(2026, 10, 28, 12, 0, 0);
const MIDNIGHT = Date.UTC(2026, 10, 29);
const perMinute = (count: number, burst: number, quotaPerDay?: number): TokenLimits => ({
  rate: { count, perMs: 60_000 },
  burst,
  quotaPerDay,
});

let db: Database;
let tokenId: string;
const limiters: RateLimiter[] = [];

function limiter(now = NOON) {
  const l = new RateLimiter(db, { now: () => now, flushIntervalMs: 0 });
  limiters.push(l);
  return l;
}

const usage = () => db.prepare('SELECT token_id, day, count FROM token_usage ORDER BY day').all();

beforeEach(async () => {
  ({ db } = tempDatabase('mailgate-limiter-'));
  ({ id: tokenId } = await issueTestToken(db, { ttlMs: 86_400_000, actor: 'test', now: NOON }));
});

afterEach(() => {
  for (const l of limiters.splice(0)) l.close();
});

describe('RateLimiter', () => {
  it('lets the burst through, then refuses with Retry-After and RateLimit figures', () => {
    const l = limiter();
    const limits = perMinute(60, 3);
    const allowed = [1, 2, 3].map(() => l.check(tokenId, limits, NOON));
    expect(allowed.map((d) => [d.allowed, d.limit, d.remaining])).toEqual([
      [true, 3, 2],
      [true, 3, 1],
      [true, 3, 0],
    ]);
    expect(allowed[2]!.resetSeconds).toBe(3);
    expect(l.check(tokenId, limits, NOON)).toEqual({
      allowed: false,
      limit: 3,
      remaining: 0,
      resetSeconds: 3,
      retryAfterSeconds: 1,
      reason: 'rate',
    });
  });

  it('refills: one request fits again after Retry-After', () => {
    const l = limiter();
    const limits = perMinute(6, 1);
    expect(l.check(tokenId, limits, NOON).allowed).toBe(true);
    const refused = l.check(tokenId, limits, NOON + 1_000);
    expect(refused.retryAfterSeconds).toBe(9);
    expect(l.check(tokenId, limits, NOON + 9_999).allowed).toBe(false);
    expect(l.check(tokenId, limits, NOON + 10_000).allowed).toBe(true);
  });

  it('enforces the daily quota until UTC midnight, then starts over', () => {
    const l = limiter();
    const limits = perMinute(1_000, 1_000, 3);
    const decisions = [1, 2, 3].map(() => l.check(tokenId, limits, NOON));
    // The quota is the tighter policy, so it is what the headers report.
    expect(decisions.map((d) => [d.limit, d.remaining, d.resetSeconds])).toEqual([
      [3, 2, 43_200],
      [3, 1, 43_200],
      [3, 0, 43_200],
    ]);
    expect(l.check(tokenId, limits, NOON)).toEqual({
      allowed: false,
      limit: 3,
      remaining: 0,
      resetSeconds: 43_200,
      retryAfterSeconds: 43_200,
      reason: 'quota',
    });
    expect(l.check(tokenId, limits, MIDNIGHT - 1)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    expect(l.check(tokenId, limits, MIDNIGHT)).toMatchObject({ allowed: true, limit: 3, remaining: 2 });
  });

  it('does not spend bucket credit on quota refusals', () => {
    const l = limiter();
    expect(l.check(tokenId, perMinute(60, 2, 1), NOON).allowed).toBe(true);
    expect(l.check(tokenId, perMinute(60, 2, 1), NOON).reason).toBe('quota');
    expect(l.check(tokenId, perMinute(60, 2, 5), NOON).allowed).toBe(true);
  });

  it('persists counts and last_used_at on flush, and a new limiter reloads them', () => {
    const limits = perMinute(1_000, 1_000, 5);
    const first = limiter();
    for (let i = 0; i < 3; i++) first.check(tokenId, limits, NOON + i);
    expect(usage()).toEqual([]);
    first.flush();
    expect(usage()).toEqual([{ token_id: tokenId, day: '2026-11-28', count: 3 }]);
    first.check(tokenId, limits, NOON + 10);
    first.close();
    expect(usage()).toEqual([{ token_id: tokenId, day: '2026-11-28', count: 4 }]);
    expect(db.prepare('SELECT last_used_at FROM tokens WHERE id = ?').get(tokenId)).toEqual({
      last_used_at: NOON + 10,
    });
    const restarted = limiter(NOON + 60_000);
    expect(restarted.check(tokenId, limits, NOON + 60_000)).toMatchObject({ allowed: true, remaining: 0 });
    expect(restarted.check(tokenId, limits, NOON + 60_000).reason).toBe('quota');
  });

  it('writes each day to its own row across midnight and prunes old days', () => {
    db.prepare("INSERT INTO token_usage (token_id, day, count) VALUES (?, '2025-01-01', 9)").run(tokenId);
    const l = limiter();
    const limits = perMinute(1_000, 1_000);
    l.check(tokenId, limits, MIDNIGHT - 1);
    l.check(tokenId, limits, MIDNIGHT);
    l.flush();
    expect(usage()).toEqual([
      { token_id: tokenId, day: '2026-11-28', count: 1 },
      { token_id: tokenId, day: '2026-11-29', count: 1 },
    ]);
  });

  it('flushes on its own every interval', async () => {
    const l = new RateLimiter(db, { flushIntervalMs: 20 });
    limiters.push(l);
    l.check(tokenId, perMinute(60, 60));
    await vi.waitFor(() => expect(usage()).toHaveLength(1), { timeout: 2_000, interval: 10 });
  });

  it('close() is idempotent and later use throws ClosedError', () => {
    const l = new RateLimiter(db, { flushIntervalMs: 0 });
    l.close();
    l.close();
    expect(() => l.check(tokenId, perMinute(60, 60))).toThrow(
      expect.objectContaining({ code: 'ERR_CLOSED' }),
    );
    expect(() => l.flush()).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
  });
});
