import { describe, expect, it } from 'vitest';
import { msUntilUtcMidnight, newBucket, takeToken, utcDay } from '../../../tokens/token-bucket.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

describe('takeToken', () => {
  it('lets a full burst through, then refuses with the wait for one request', () => {
    const limits = { count: 60, perMs: 60_000, burst: 5 };
    const bucket = newBucket(T0, limits);
    const remaining = Array.from({ length: 5 }, () => takeToken(bucket, T0, limits)).map((d) => d.remaining);
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    expect(takeToken(bucket, T0, limits)).toEqual({
      allowed: false,
      remaining: 0,
      resetMs: 5_000,
      retryAfterSeconds: 1,
    });
  });

  it('refills at the rate, exactly, and never above the burst', () => {
    const limits = { count: 1, perMs: 10_000, burst: 2 };
    const bucket = newBucket(T0, limits);
    takeToken(bucket, T0, limits);
    takeToken(bucket, T0, limits);
    expect(takeToken(bucket, T0 + 4_000, limits)).toMatchObject({ allowed: false, retryAfterSeconds: 6 });
    expect(takeToken(bucket, T0 + 9_999, limits).allowed).toBe(false);
    expect(takeToken(bucket, T0 + 10_000, limits)).toMatchObject({
      allowed: true,
      remaining: 0,
      resetMs: 20_000,
    });
    expect(takeToken(bucket, T0 + 1_000_000, limits)).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('has no floating-point drift at rates that do not divide evenly', () => {
    const limits = { count: 3, perMs: 1_000, burst: 1 };
    const bucket = newBucket(T0, limits);
    let allowed = 0;
    for (let t = 0; t < 10_000; t++) if (takeToken(bucket, T0 + t, limits).allowed) allowed++;
    expect(allowed).toBe(30);
  });

  it('ignores a clock that steps back', () => {
    const limits = { count: 1, perMs: 1_000, burst: 1 };
    const bucket = newBucket(T0, limits);
    takeToken(bucket, T0, limits);
    expect(takeToken(bucket, T0 - 5_000, limits).allowed).toBe(false);
    expect(takeToken(bucket, T0 + 1_000, limits).allowed).toBe(true);
  });
});

describe('UTC days', () => {
  it('names the UTC date and counts down to its midnight', () => {
    const lastMs = Date.UTC(2026, 10, 28, 23, 59, 59, 999);
    expect(utcDay(lastMs)).toBe('2026-11-28');
    expect(utcDay(lastMs + 1)).toBe('2026-11-29');
    expect(msUntilUtcMidnight(lastMs)).toBe(1);
    expect(msUntilUtcMidnight(lastMs + 1)).toBe(86_400_000);
  });
});
