/**
 * @module A token's lifetime and limits as people type them (`token issue` flags, the admin API and the
 * console): one check each, naming the field and its bounds in every refusal, and one check of a whole
 * request.
 */
import { parseDuration, parseRate, type Rate } from '../lib/duration.js';
import { UsageError } from '../lib/errors.js';
import { type IssueTokenOptions, MAX_TOKEN_TTL_MS } from './issue-token.js';
import { checkAppName, checkScopes } from './token-format.js';

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

/** A token request as people write it: `token issue` flags, the admin API's JSON, the console's form. */
export interface TokenRequestInput {
  app: string;
  scopes: readonly string[];
  /** Default DEFAULT_TOKEN_TTL. */
  ttl?: string | undefined;
  rate?: string | undefined;
  burst?: number | undefined;
  quota?: string | undefined;
}

/** A checked token request: what of issueToken's options the person chooses. */
export type TokenRequest = Pick<IssueTokenOptions, 'app' | 'ttlMs' | 'rate' | 'burst' | 'quotaPerDay'> & {
  scopes: string[];
};

/**
 * Checks a token request field by field (app, scopes, ttl, rate, burst, quota), for the CLI, the API and
 * the console alike. `labelOf` names a field in refusals as the caller's people know it (`--scope`).
 * @throws UsageError naming the label and its bounds, with the field in `field` (nothing is written).
 * @example checkTokenRequest({ app: 'shop', scopes: ['send'], rate: '10/min' }) // { ttlMs: 7776000000, ... }
 */
export function checkTokenRequest(
  input: TokenRequestInput,
  labelOf: (field: keyof TokenRequestInput) => string = (field) => field,
): TokenRequest {
  const checked = <T>(field: keyof TokenRequestInput, check: (label: string) => T): T => {
    try {
      return check(labelOf(field));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      throw new UsageError(error.message, { field });
    }
  };
  const { rate, burst, quota } = input;
  return {
    app: checked('app', (label) => checkAppName(input.app, label)),
    scopes: checked('scopes', (label) => checkScopes(input.scopes, label)),
    ttlMs: checked('ttl', (label) => checkTtl(input.ttl ?? DEFAULT_TOKEN_TTL, label)),
    rate: rate === undefined ? undefined : checked('rate', (label) => checkRate(rate, label)),
    burst: burst === undefined ? undefined : checked('burst', (label) => checkBurst(burst, label)),
    quotaPerDay: quota === undefined ? undefined : checked('quota', (label) => checkQuota(quota, label)),
  };
}

/** @throws UsageError naming `label` unless `value` is a whole number from 1 to MAX_RATE_COUNT. */
export function checkBurst(value: number, label: string): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_RATE_COUNT) {
    throw new UsageError(`${label} must be a whole number from 1 to ${MAX_RATE_COUNT}`);
  }
  return value;
}
