/**
 * @module The token bucket and the UTC day arithmetic of daily quotas. Pure; the clock is a parameter.
 */

/** One token's bucket. Credits are integers: one request costs `perMs` credits and `count` flow in per ms,
 * so a rate such as 60/min refills exactly, without floating-point drift. */
export interface BucketState {
  credits: number;
  updatedAt: number;
}

export interface BucketLimits {
  /** Requests per `perMs`: the sustained rate. */
  count: number;
  perMs: number;
  /** Capacity in requests. */
  burst: number;
}

export interface BucketDecision {
  allowed: boolean;
  /** Whole requests left in the bucket after this one. */
  remaining: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
  /** Seconds to wait before one request fits (RFC 9110 §10.2.3); 0 when allowed. */
  retryAfterSeconds: number;
}

/** A full bucket at `now`. */
export function newBucket(now: number, { perMs, burst }: BucketLimits): BucketState {
  return { credits: burst * perMs, updatedAt: now };
}

/**
 * Refills the bucket up to `now` and takes one request from it when there is one; true when it did.
 * Mutates `state` and allocates nothing (the per-address limit calls it on every request).
 */
export function take(state: BucketState, now: number, { count, perMs, burst }: BucketLimits): boolean {
  const elapsed = Math.max(0, now - state.updatedAt);
  let credits = Math.min(burst * perMs, state.credits + elapsed * count);
  state.updatedAt = Math.max(now, state.updatedAt);
  const allowed = credits >= perMs;
  if (allowed) credits -= perMs;
  state.credits = credits;
  return allowed;
}

/** Seconds until one request fits, at least 1 (RFC 9110 §10.2.3 Retry-After); call after `take` refused. */
export function retryAfterSeconds(state: BucketState, { count, perMs }: BucketLimits): number {
  return Math.max(1, Math.ceil((perMs - state.credits) / count / 1000));
}

/** Whether the bucket has refilled to capacity by `now`: then it is the same as a new one. */
export function isFull(state: BucketState, now: number, { count, perMs, burst }: BucketLimits): boolean {
  return state.credits + Math.max(0, now - state.updatedAt) * count >= burst * perMs;
}

/**
 * `take`, with what the RateLimit-* headers need.
 * @example const b = newBucket(0, { count: 1, perMs: 1000, burst: 2 });
 * takeToken(b, 0, limits).allowed // true, true, then false with retryAfterSeconds 1
 */
export function takeToken(state: BucketState, now: number, limits: BucketLimits): BucketDecision {
  const allowed = take(state, now, limits);
  return bucketOutcome(allowed, state.credits, limits);
}

/**
 * What a take left behind, as the headers need it: `credits` is the bucket after the take. Pure; also
 * read for a take done elsewhere (the Redis limiter's script returns the same credits).
 */
export function bucketOutcome(allowed: boolean, credits: number, limits: BucketLimits): BucketDecision {
  const { count, perMs, burst } = limits;
  return {
    allowed,
    remaining: Math.floor(credits / perMs),
    resetMs: Math.ceil((burst * perMs - credits) / count),
    retryAfterSeconds: allowed ? 0 : retryAfterSeconds({ credits, updatedAt: 0 }, limits),
  };
}

const DAY_MS = 86_400_000;

/** The UTC date of an instant, YYYY-MM-DD (the token_usage.day key). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Milliseconds from `ms` to the next UTC midnight (1..86,400,000). */
export function msUntilUtcMidnight(ms: number): number {
  return DAY_MS - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
}
