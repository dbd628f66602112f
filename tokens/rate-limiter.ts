/**
 * @module Per-token rate limit (token bucket) and daily quota (UTC day) for the send plane, in memory,
 * with counts and last_used_at flushed to SQLite every second so quotas survive restarts.
 */
import { ClosedError } from '../lib/errors.js';
import type { Database } from '../store/database.js';
import {
  type BucketDecision,
  type BucketState,
  msUntilUtcMidnight,
  newBucket,
  takeToken,
  utcDay,
} from './token-bucket.js';
import type { TokenLimits } from './token-limits.js';
import { loadUsage, pruneUsage, writeUsage } from './usage-store.js';

/** Everything the response headers need (draft-ietf-httpapi-ratelimit-headers, RFC 9110 Retry-After). */
export interface RateLimitDecision {
  allowed: boolean;
  /** `RateLimit-Limit`: the burst, or the daily quota when that is the tighter policy. */
  limit: number;
  /** `RateLimit-Remaining`. */
  remaining: number;
  /** `RateLimit-Reset`, seconds: until the bucket is full, or until UTC midnight for the quota. */
  resetSeconds: number;
  /** `Retry-After`, seconds; only when refused. */
  retryAfterSeconds?: number;
  /**
   * Why it was refused: the rate, the daily quota, or `unavailable` (the shared limiter, in Redis, has not
   * answered for longer than cluster.maxStalenessMs: the request is refused with 503, never admitted unchecked).
   */
  reason?: 'rate' | 'quota' | 'unavailable';
}

/** A request past the token's daily quota: refused until UTC midnight, the bucket untouched. Pure. */
export function quotaRefusal(limits: TokenLimits, now: number): RateLimitDecision {
  const untilMidnight = Math.ceil(msUntilUtcMidnight(now) / 1000);
  return {
    allowed: false,
    limit: limits.quotaPerDay!,
    remaining: 0,
    resetSeconds: untilMidnight,
    retryAfterSeconds: untilMidnight,
    reason: 'quota',
  };
}

/**
 * A request refused because the shared limiter cannot be asked (Redis stale past cluster.maxStalenessMs, or
 * the primary of workers not answering): 503, never admitted unchecked. Pure.
 */
export function unavailableRefusal(limits: TokenLimits, retryAfterSeconds: number): RateLimitDecision {
  return {
    allowed: false,
    limit: limits.burst,
    remaining: 0,
    resetSeconds: retryAfterSeconds,
    retryAfterSeconds,
    reason: 'unavailable',
  };
}

/**
 * The decision once the quota had room (`used` requests today before this one) and the bucket was asked:
 * headers describe whichever policy is tighter. Pure: the local limiter and the Redis one (whose script
 * does the take atomically) both answer through it, so their headers and Retry-After agree.
 */
export function limitDecision(
  limits: TokenLimits,
  taken: BucketDecision,
  used: number,
  now: number,
): RateLimitDecision {
  const resetSeconds = Math.ceil(taken.resetMs / 1000);
  if (!taken.allowed) {
    return {
      allowed: false,
      limit: limits.burst,
      remaining: 0,
      resetSeconds,
      retryAfterSeconds: taken.retryAfterSeconds,
      reason: 'rate',
    };
  }
  const { quotaPerDay } = limits;
  const quotaLeft = quotaPerDay === undefined ? Number.POSITIVE_INFINITY : quotaPerDay - used - 1;
  return quotaLeft < taken.remaining
    ? {
        allowed: true,
        limit: quotaPerDay!,
        remaining: quotaLeft,
        resetSeconds: Math.ceil(msUntilUtcMidnight(now) / 1000),
      }
    : { allowed: true, limit: limits.burst, remaining: taken.remaining, resetSeconds };
}

/**
 * What the send-plane guard asks for one request: this process's RateLimiter, or (under `workers`) the
 * primary's through IPC, so that N workers never admit N times the limit.
 */
export interface Limiter {
  check(tokenId: string, limits: TokenLimits): RateLimitDecision | Promise<RateLimitDecision>;
}

export interface RateLimiterOptions {
  /** Clock, epoch ms; default Date.now. */
  now?: () => number;
  /** How often counts are written, ms; default 1000. 0 = only on flush()/close() (tests). */
  flushIntervalMs?: number;
  /** Where a failed background flush is reported (the batch is kept and retried); default a process warning. */
  onFlushError?: (error: unknown) => void;
  /** Days of usage rows kept; older ones are deleted at each UTC day change. Default 90. */
  keepDays?: number;
}

/**
 * The limiter of one gateway process. Call `check` only for tokens that passed verification and the
 * revocation check, so its maps hold at most one entry per issued token. Counts are per process: run one
 * gateway per database (two would each allow the full quota).
 * @example const limiter = new RateLimiter(db); const d = limiter.check(token.id, state.limitsFor(token.id)!);
 */
export class RateLimiter implements Limiter {
  readonly #db: Database;
  readonly #now: () => number;
  readonly #onFlushError: (error: unknown) => void;
  readonly #keepDays: number;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #buckets = new Map<string, BucketState>();
  /** Day -> token id -> requests not yet written. */
  #pending = new Map<string, Map<string, number>>();
  #lastUsed = new Map<string, number>();
  #day: string;
  /** When #day ends (the next UTC midnight), epoch ms; 0 until the first check. */
  #dayEndsAt = 0;
  /** Today's counts, written and pending, by token id. */
  #counts: Map<string, number>;
  #closed = false;

  constructor(
    db: Database,
    {
      now = Date.now,
      flushIntervalMs = 1000,
      onFlushError = (error) => process.emitWarning(`token usage flush failed: ${(error as Error).message}`),
      keepDays = 90,
    }: RateLimiterOptions = {},
  ) {
    if (!Number.isSafeInteger(flushIntervalMs) || flushIntervalMs < 0) {
      throw new TypeError('flushIntervalMs must be a whole number >= 0');
    }
    this.#db = db;
    this.#now = now;
    this.#onFlushError = onFlushError;
    this.#keepDays = keepDays;
    this.#day = utcDay(now());
    this.#counts = loadUsage(db, this.#day);
    if (flushIntervalMs > 0) {
      this.#timer = setInterval(() => {
        try {
          this.flush();
        } catch (error) {
          this.#onFlushError(error);
        }
      }, flushIntervalMs);
      // The gateway's sockets keep the process alive; this timer must not.
      this.#timer.unref();
    }
  }

  /**
   * Decides one request of token `tokenId` at `now`: the quota first (a refused request uses no bucket
   * credit), then the bucket. Only allowed requests count against the quota.
   * @throws ClosedError after close().
   */
  check(tokenId: string, limits: TokenLimits, now = this.#now()): RateLimitDecision {
    if (this.#closed) throw new ClosedError('rate limiter');
    // The day string only changes at UTC midnight: skip formatting a date on every request until then.
    if (now >= this.#dayEndsAt || now < this.#dayEndsAt - 86_400_000) {
      const today = utcDay(now);
      if (today !== this.#day) this.#rollover(today);
      this.#dayEndsAt = now + msUntilUtcMidnight(now);
    }
    const day = this.#day;
    const used = this.#counts.get(tokenId) ?? 0;
    if (limits.quotaPerDay !== undefined && used >= limits.quotaPerDay) return quotaRefusal(limits, now);
    const bucketLimits = { count: limits.rate.count, perMs: limits.rate.perMs, burst: limits.burst };
    let bucket = this.#buckets.get(tokenId);
    if (!bucket) {
      bucket = newBucket(now, bucketLimits);
      this.#buckets.set(tokenId, bucket);
    }
    const taken = takeToken(bucket, now, bucketLimits);
    if (taken.allowed) this.#count(tokenId, day, now);
    return limitDecision(limits, taken, used, now);
  }

  /**
   * Writes pending counts and last_used_at in one transaction. On failure the batch stays pending.
   * @throws ClosedError after close(); StoreError-like SQLite errors from the write.
   */
  flush(): void {
    if (this.#closed) throw new ClosedError('rate limiter');
    this.#write();
  }

  /** Flushes and stops the timer. Idempotent; later check()/flush() throw ClosedError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#write();
  }

  #write() {
    if (this.#pending.size === 0 && this.#lastUsed.size === 0) return;
    writeUsage(this.#db, this.#pending, this.#lastUsed);
    this.#pending = new Map();
    this.#lastUsed = new Map();
  }

  #count(tokenId: string, day: string, now: number) {
    this.#counts.set(tokenId, (this.#counts.get(tokenId) ?? 0) + 1);
    let pending = this.#pending.get(day);
    if (!pending) {
      pending = new Map();
      this.#pending.set(day, pending);
    }
    pending.set(tokenId, (pending.get(tokenId) ?? 0) + 1);
    this.#lastUsed.set(tokenId, now);
  }

  /** A new UTC day: counts restart from what the store holds for it (normally nothing). */
  #rollover(day: string) {
    try {
      this.#write();
      pruneUsage(this.#db, utcDay(Date.parse(day) - this.#keepDays * 86_400_000));
    } catch (error) {
      // The pending batch is keyed by day, so it is still written to the right day on a later flush.
      this.#onFlushError(error);
    }
    this.#day = day;
    const stored = loadUsage(this.#db, day);
    for (const [id, delta] of this.#pending.get(day) ?? []) stored.set(id, (stored.get(id) ?? 0) + delta);
    this.#counts = stored;
  }
}
