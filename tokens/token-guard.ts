/**
 * @module The send-plane guard: bearer token authorization (rule 5), then the per-token rate limit and
 * daily quota, with RFC 6750 challenges and RateLimit-* headers.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Counter } from 'prom-client';
import { authorizeToken, authorizeVerified } from './authorize-token.js';
import type { Limiter, RateLimitDecision } from './rate-limiter.js';
import { bearerChallenge, TokenError, tokenErrorStatus } from './token-error.js';
import type { TokenLimits } from './token-limits.js';
import type { TokenState } from './token-state.js';
import type { TokenVerifier, VerifiedToken } from './verify-token.js';

/** The two counters the guard feeds; the gateway passes its own (gateway/metrics.ts). */
export interface TokenGuardCounters {
  /** mailgate_token_requests_total{app,outcome} */
  tokenRequests: Pick<Counter<'app' | 'outcome'>, 'inc' | 'labels'>;
  /** mailgate_rate_limited_total{app} */
  rateLimited: Pick<Counter<'app'>, 'inc'>;
}

/** What the guard reads of a request; the gateway's GuardInput satisfies it (tokens/ names nothing of gateway/). */
export interface TokenGuardInput {
  /** The raw header name/value list, every Authorization field in it. */
  req: { rawHeaders: readonly string[] };
  /** The matched `auth: token` route and the scopes it requires. */
  route: { scopes?: readonly string[] | undefined } | undefined;
}

/** The guard's answer, one of the gateway's GuardDecisions. */
export type TokenGuardDecision =
  | {
      allowed: true;
      principal: string;
      identity: Readonly<Record<string, string>>;
      responseHeaders: OutgoingHttpHeaders;
      credential: Readonly<{ kind: 'token'; id: string; expiresAt: number }>;
    }
  | {
      allowed: false;
      code: 'unauthorized' | 'insufficient_scope' | 'rate_limited' | 'cluster_unavailable';
      reason: string;
      responseHeaders: OutgoingHttpHeaders;
      principal?: string | undefined;
    };

export interface TokenGuardOptions {
  verifier: TokenVerifier;
  state: TokenState;
  limiter: Limiter;
  counters: TokenGuardCounters;
}

/**
 * Every Authorization value received. Node keeps only the first in `headers` (HTTP/1.1 and h2 alike), so a
 * second one would go unseen; h2 requests have no `headersDistinct`, so the raw name/value list is read.
 */
function authorizationValues(req: TokenGuardInput['req']): string[] {
  const values: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') values.push(raw[i + 1]!);
  }
  return values;
}

/** What a verified token tells the upstream and what ends its connections: the same for each of its requests. */
interface TokenGrant {
  identity: Readonly<Record<string, string>>;
  credential: Readonly<{ kind: 'token'; id: string; expiresAt: number }>;
}

/** Built once per verified token (the verifier's cache hands out the same object for the same token). */
const grants = new WeakMap<VerifiedToken, TokenGrant>();
function grantOf(token: VerifiedToken): TokenGrant {
  let grant = grants.get(token);
  if (grant === undefined) {
    grant = {
      identity: Object.freeze({
        'x-mailgate-app': token.app,
        'x-mailgate-token-id': token.id,
        'x-mailgate-scopes': token.scopes.join(' '),
      }),
      credential: Object.freeze({ kind: 'token', id: token.id, expiresAt: token.exp * 1000 } as const),
    };
    grants.set(token, grant);
  }
  return grant;
}

/** Creates the guard for `auth: token` routes. */
export function createTokenGuard({
  verifier,
  state,
  limiter,
  counters,
}: TokenGuardOptions): (input: TokenGuardInput) => TokenGuardDecision | Promise<TokenGuardDecision> {
  // One label child per app, so the allowed path does not hash labels on every request.
  const allowed = new Map<string, { inc: () => void }>();
  const allowedCounter = (app: string) => {
    let counter = allowed.get(app);
    if (!counter) {
      counter = counters.tokenRequests.labels(app, 'allowed');
      allowed.set(app, counter);
    }
    return counter;
  };
  const refusal = (error: unknown, required: readonly string[]): TokenGuardDecision => {
    if (!(error instanceof TokenError)) throw error;
    const forbidden = tokenErrorStatus(error) === 403;
    if (error.app) counters.tokenRequests.inc({ app: error.app, outcome: 'forbidden' });
    return {
      allowed: false,
      code: forbidden ? 'insufficient_scope' : 'unauthorized',
      reason: error.code.slice(4).toLowerCase(),
      responseHeaders: { 'www-authenticate': bearerChallenge(error, 'mailgate', required) },
    };
  };
  const limited = (
    token: VerifiedToken,
    limits: TokenLimits,
  ): TokenGuardDecision | Promise<TokenGuardDecision> => {
    const rate = limiter.check(token.id, limits);
    // The local limiter answers synchronously; the cluster primary's answer arrives over IPC.
    return rate instanceof Promise ? rate.then((r) => decide(token, r)) : decide(token, rate);
  };
  const decide = (token: VerifiedToken, rate: RateLimitDecision): TokenGuardDecision => {
    const headers: OutgoingHttpHeaders = {
      'ratelimit-limit': rate.limit,
      'ratelimit-remaining': rate.remaining,
      'ratelimit-reset': rate.resetSeconds,
    };
    if (rate.reason === 'unavailable') {
      // The shared limiter is out of reach past cluster.maxStalenessMs: fail closed, and say it is not the
      // client's fault (503, no RateLimit-* headers that would describe a bucket nobody read).
      counters.tokenRequests.inc({ app: token.app, outcome: 'cluster_unavailable' });
      return {
        allowed: false,
        code: 'cluster_unavailable',
        reason: 'limiter_unavailable',
        responseHeaders: { 'retry-after': String(rate.retryAfterSeconds ?? 5) },
        principal: token.app,
      };
    }
    if (!rate.allowed) {
      const outcome = rate.reason === 'quota' ? 'quota_exceeded' : 'rate_limited';
      counters.rateLimited.inc({ app: token.app });
      counters.tokenRequests.inc({ app: token.app, outcome });
      headers['retry-after'] = String(rate.retryAfterSeconds ?? 1);
      return {
        allowed: false,
        code: 'rate_limited',
        reason: outcome,
        responseHeaders: headers,
        principal: token.app,
      };
    }
    allowedCounter(token.app).inc();
    const { identity, credential } = grantOf(token);
    return { allowed: true, principal: token.app, identity, responseHeaders: headers, credential };
  };
  // A token verified before decides synchronously (no promise on the hot path); others are verified first.
  return function tokenPlaneGuard({
    req,
    route,
  }: TokenGuardInput): TokenGuardDecision | Promise<TokenGuardDecision> {
    const required = route?.scopes ?? [];
    const authorization = authorizationValues(req);
    const known = verifier.cached(authorization);
    if (known) {
      let limits: TokenLimits;
      try {
        limits = authorizeVerified(state, known, required);
      } catch (error) {
        return refusal(error, required);
      }
      return limited(known, limits);
    }
    return authorizeToken(verifier, state, authorization, required).then(
      (token) => limited(token, token.limits),
      (error: unknown) => refusal(error, required),
    );
  };
}
