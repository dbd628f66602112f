/**
 * @module A token's lifetime and limits as people type them (`token issue` flags, the admin API and the
 * console): one check each, naming the field and its bounds in every refusal.
 */
import { parseDuration, parseRate, type Rate } from '../lib/duration.js';
import { UsageError } from '../lib/errors.js';
import { MAX_TOKEN_TTL_MS } from './issue-token.js';

/** How long a token lives when no ttl is given. */
export const DEFAULT_TOKEN_TTL = '90d';
/** Largest COUNT of a rate and of a burst. */
export const MAX_RATE_COUNT = 1_000_000;
/** Largest daily quota (nine digits). */
export const MAX_QUOTA_PER_DAY = 999_999_999;

const DAY_MS = 86_400_000;

/** @throws UsageError naming `label` unless `text` is a duration from 1s to 3650d. */
export function checkTtl(text: string, label: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1_000 || ms > MAX_TOKEN_TTL_MS) {
    throw new UsageError(`${label} must be a duration from 1s to 3650d such as 90d or 12h, got '${text}'`);
  }
  return ms;
}

/** @throws UsageError naming `label` unless `text` is COUNT/UNIT with COUNT from 1 to MAX_RATE_COUNT. */
export function checkRate(text: string, label: string): Rate {
  const rate = parseRate(text);
  if (!rate || rate.count > MAX_RATE_COUNT) {
    throw new UsageError(
      `${label} must be COUNT/UNIT with COUNT from 1 to ${MAX_RATE_COUNT} and UNIT s, min, h or day, such as 60/min, got '${text}'`,
    );
  }
  return rate;
}

/** @throws UsageError naming `label` unless `text` is COUNT/day with COUNT from 1 to MAX_QUOTA_PER_DAY. */
export function checkQuota(text: string, label: string): number {
  const quota = parseRate(text);
  if (quota?.perMs !== DAY_MS || quota.count > MAX_QUOTA_PER_DAY) {
    throw new UsageError(
      `${label} must be COUNT/day with COUNT from 1 to ${MAX_QUOTA_PER_DAY}, such as 1000/day, got '${text}'`,
    );
  }
  return quota.count;
}
