/**
 * @module Token rate limits and daily quotas of several gateway nodes, kept in Redis by one server-side Lua
 * script (atomic: no two nodes read the same bucket between a read and a write). The script does only the
 * state change; the headers come from the same pure decision as the local limiter's (tokens/rate-limiter.ts).
 */
import type { Redis } from 'ioredis';
import {
  type Limiter,
  limitDecision,
  quotaRefusal,
  type RateLimitDecision,
  unavailableRefusal,
} from '../tokens/rate-limiter.js';
import { type BucketState, bucketOutcome, newBucket, takeToken } from '../tokens/token-bucket.js';
import type { TokenLimits } from '../tokens/token-limits.js';

/** Key prefix of every limiter key; the token id follows (ids are base64url, checked by the verifier). */
export const BUCKET_PREFIX = 'mailgate:bucket:';
export const QUOTA_PREFIX = 'mailgate:quota:';
/** How long a day's quota counter outlives its day, ms (a node whose clock lags still finds it). */
const QUOTA_TTL_MS = 2 * 86_400_000;

/**
 * The token bucket of tokens/token-bucket.ts in integer credits (exact in Lua's doubles below 2^53), and
 * the quota counter of the UTC day, both on Redis's clock (TIME): nodes with skewed clocks still agree.
 * Values a node did not write (garbage, another type) never admit more than a new bucket would: an
 * unreadable bucket counts as empty, an unreadable quota counter as used up, a key of another type is
 * replaced by an empty bucket.
 * KEYS[1] bucket hash; ARGV: quota key prefix, count, perMs, burst, quota per day (-1 = none).
 * Returns { outcome (0 allowed, 1 rate, 2 quota), credits after, quota used before, now ms }.
 */
export const LIMIT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local count = tonumber(ARGV[2])
local perMs = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local quota = tonumber(ARGV[5])
local qkey = ARGV[1] .. math.floor(now / 86400000)
local used = 0
local counted = true
local qtype = redis.call('TYPE', qkey).ok
if qtype == 'string' then
  used = tonumber(redis.call('GET', qkey))
  if used == nil or used ~= used or used < 0 then used = 1e15 end
elseif qtype ~= 'none' then
  used = 1e15
end
if used >= 1e15 then counted = false end
if quota >= 0 and used >= quota then return {2, 0, math.min(used, 1e15), now} end
local cap = burst * perMs
local credits = cap
local updated = now
local btype = redis.call('TYPE', KEYS[1]).ok
if btype == 'hash' then
  local b = redis.call('HMGET', KEYS[1], 'c', 't')
  credits = tonumber(b[1])
  updated = tonumber(b[2])
  if credits == nil or credits ~= credits or updated == nil or updated ~= updated then
    credits = 0
    updated = now
  end
elseif btype ~= 'none' then
  redis.call('DEL', KEYS[1])
  credits = 0
end
local elapsed = now - updated
if elapsed < 0 then elapsed = 0 end
credits = math.min(cap, credits + elapsed * count)
if credits < -cap then credits = -cap end
if updated < now then updated = now end
local allowed = credits >= perMs
if allowed then credits = credits - perMs end
redis.call('HSET', KEYS[1], 'c', string.format('%.0f', credits), 't', string.format('%.0f', updated))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / count) + 60000)
if not allowed then return {1, credits, used, now} end
if counted then
  redis.call('INCR', qkey)
  redis.call('PEXPIRE', qkey, ${QUOTA_TTL_MS})
end
return {0, credits, used, now}
`;

/** A client with the limiter's script defined (EVALSHA, loaded again by ioredis after NOSCRIPT). */
export type LimitRedis = Redis & {
  mailgateLimit(
    bucketKey: string,
    quotaPrefix: string,
    count: number,
    perMs: number,
    burst: number,
    quota: number,
  ): Promise<unknown>;
};

/** Defines the script on a client once. */
export function withLimitScript(redis: Redis): LimitRedis {
  redis.defineCommand('mailgateLimit', { numberOfKeys: 1, lua: LIMIT_SCRIPT });
  return redis as LimitRedis;
}

/**
 * Reads the script's reply into a decision; undefined for anything else (a reply the node did not expect
 * is treated as Redis being unreachable, never as an admission).
 */
export function decisionFromReply(reply: unknown, limits: TokenLimits): RateLimitDecision | undefined {
  if (!Array.isArray(reply) || reply.length !== 4) return undefined;
  const [outcome, credits, used, now] = reply as unknown[];
  if (![outcome, credits, used, now].every((n) => typeof n === 'number' && Number.isSafeInteger(n)))
    return undefined;
  if (outcome === 2)
    return limits.quotaPerDay === undefined ? undefined : quotaRefusal(limits, now as number);
  if (outcome !== 0 && outcome !== 1) return undefined;
  const bucketLimits = { count: limits.rate.count, perMs: limits.rate.perMs, burst: limits.burst };
  return limitDecision(
    limits,
    bucketOutcome(outcome === 0, credits as number, bucketLimits),
    used as number,
    now as number,
  );
}

export interface RedisLimiterOptions {
  redis: LimitRedis;
  /** Bounds how long the local fallback may decide: cluster.maxStalenessMs. */
  maxStalenessMs: number;
  /** When Redis last answered anything (epoch ms), kept by the cluster link; a limit reply also counts. */
  lastContact: () => number;
  /** Reports a limit reply from Redis (it refreshes lastContact). */
  contacted: () => void;
  /** A failed or unreadable call, for the log and the metric. */
  onFailure: (error: unknown) => void;
  now?: () => number;
}

/** Seconds a client is told to wait when the limiter is out of reach. */
const UNAVAILABLE_RETRY_S = 5;

/**
 * The send plane's limiter on a node with `cluster.redis`. While Redis does not answer, this node decides
 * alone on its last known state (its own buckets, the quota use Redis last reported plus what it admitted
 * since) for at most maxStalenessMs after the last contact; then it refuses with reason `unavailable`.
 */
export class RedisLimiter implements Limiter {
  readonly #options: RedisLimiterOptions;
  readonly #now: () => number;
  /** Each token's bucket as Redis last reported it, then taken from locally while Redis is out of reach. */
  readonly #buckets = new Map<string, BucketState>();
  /** Quota use by token: what Redis last reported (the day it was on) plus local admissions since. */
  readonly #used = new Map<string, { day: number; used: number }>();

  constructor(options: RedisLimiterOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  check(tokenId: string, limits: TokenLimits): Promise<RateLimitDecision> {
    const { redis, onFailure } = this.#options;
    const quota = limits.quotaPerDay ?? -1;
    return redis
      .mailgateLimit(
        BUCKET_PREFIX + tokenId,
        `${QUOTA_PREFIX}${tokenId}:`,
        limits.rate.count,
        limits.rate.perMs,
        limits.burst,
        quota,
      )
      .then(
        (reply) => {
          const decision = decisionFromReply(reply, limits);
          if (!decision) {
            onFailure(new Error('unexpected reply from the limit script'));
            return this.#fallback(tokenId, limits);
          }
          this.#options.contacted();
          this.#remember(tokenId, reply as number[], decision);
          return decision;
        },
        (error: unknown) => {
          onFailure(error);
          return this.#fallback(tokenId, limits);
        },
      );
  }

  /** Keeps what Redis said (bucket and quota use), the starting point should it stop answering. */
  #remember(tokenId: string, reply: number[], decision: RateLimitDecision) {
    this.#buckets.set(tokenId, { credits: reply[1]!, updatedAt: this.#now() });
    const day = Math.floor(reply[3]! / 86_400_000);
    this.#used.set(tokenId, { day, used: reply[2]! + (decision.allowed ? 1 : 0) });
  }

  #fallback(tokenId: string, limits: TokenLimits): RateLimitDecision {
    const now = this.#now();
    if (now - this.#options.lastContact() > this.#options.maxStalenessMs) {
      return unavailableRefusal(limits, UNAVAILABLE_RETRY_S);
    }
    const day = Math.floor(now / 86_400_000);
    const known = this.#used.get(tokenId);
    const used = known?.day === day ? known.used : 0;
    if (limits.quotaPerDay !== undefined && used >= limits.quotaPerDay) return quotaRefusal(limits, now);
    const bucketLimits = { count: limits.rate.count, perMs: limits.rate.perMs, burst: limits.burst };
    let bucket = this.#buckets.get(tokenId);
    if (!bucket) {
      // Never seen in Redis by this node: empty, not full (other nodes may have spent the burst).
      bucket = { ...newBucket(now, bucketLimits), credits: 0 };
      this.#buckets.set(tokenId, bucket);
    }
    const taken = takeToken(bucket, now, bucketLimits);
    if (taken.allowed) this.#used.set(tokenId, { day, used: used + 1 });
    return limitDecision(limits, taken, used, now);
  }
}
