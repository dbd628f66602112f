/**
 * @module Per-token limits: the server-side values stored with each token and the defaults behind them.
 */
import type { Rate } from '../lib/duration.js';

/** The effective limits of one token, defaults applied. */
export interface TokenLimits {
  /** Sustained rate of the token bucket. */
  rate: Rate;
  /** Bucket capacity: requests allowed back to back after an idle period. */
  burst: number;
  /** Requests per UTC day; undefined = no quota. */
  quotaPerDay: number | undefined;
}

/**
 * Defaults for a token issued without explicit limits: 60 requests per minute, a burst of the same
 * count (a minute's worth at once), no daily quota. Chosen so a quiet app never notices them while a
 * stolen token still cannot send more than 86,400 mails a day.
 */
export const DEFAULT_RATE: Rate = { count: 60, perMs: 60_000 };

/** The stored limit columns of a token row (null = default). */
export interface StoredLimits {
  rate_count: number | null;
  rate_per_ms: number | null;
  burst: number | null;
  quota_per_day: number | null;
}

/** Applies the defaults to stored limit columns. The burst defaults to the rate's count. */
export function effectiveLimits(row: StoredLimits): TokenLimits {
  const rate =
    row.rate_count && row.rate_per_ms ? { count: row.rate_count, perMs: row.rate_per_ms } : DEFAULT_RATE;
  return { rate, burst: row.burst ?? rate.count, quotaPerDay: row.quota_per_day ?? undefined };
}
