/**
 * @module Verifying the send plane's bearer token (security rule 5): header shape, EdDSA signature, claims,
 * with a bounded cache of verified tokens. No I/O: keys come from the injected resolver.
 */
import type { KeyObject } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { lazily } from '../lib/lazily.js';
import { TokenError } from './token-error.js';
import { APP_NAME, TOKEN_ALG, TOKEN_ID, TOKEN_TYP } from './token-format.js';

/** What a verified token grants. Revocation and limits are checked per request on top of this. */
export interface VerifiedToken {
  /** Token id (`jti`). */
  id: string;
  /** App name (`sub`). */
  app: string;
  scopes: string[];
  /** Expiry, epoch seconds. */
  exp: number;
  /** Signing key id. */
  kid: string;
}

export interface TokenVerifierOptions {
  /** Required `iss`: config.publicUrl. */
  issuer: string;
  /** Required `aud`: config.tokens.audience. */
  audience: string;
  /** Skew allowed on exp/nbf/iat, seconds; default 30. */
  clockToleranceSeconds?: number;
  /** Public key for a kid from OUR store, or undefined. Never anything named by the token itself. */
  resolveKey: (kid: string) => KeyObject | undefined;
  /** Clock, epoch ms; default Date.now. */
  now?: () => number;
  /** Verified tokens kept (oldest evicted first); default 10,000, 0 disables the cache. */
  cacheSize?: number;
  /** Longest Authorization value looked at; default 4096 bytes. Ours are ~400. */
  maxHeaderBytes?: number;
}

export interface TokenVerifier {
  /**
   * Verifies the Authorization header value(s) of one request: pass every value received (Node's
   * `req.headersDistinct.authorization`), since two headers must be refused, not merged or picked.
   * @throws TokenError ERR_TOKEN_MISSING | ERR_TOKEN_MALFORMED | ERR_TOKEN_INVALID
   */
  verify(authorization: string | readonly string[] | undefined): Promise<VerifiedToken>;
  /**
   * The token, when this exact value was verified before and has not expired: the send plane's hot path,
   * without a promise. Undefined otherwise (including for refused values: verify() says why).
   */
  cached(authorization: string | readonly string[] | undefined): VerifiedToken | undefined;
  /** Drops every cached result (e.g. after a key was removed from the store). */
  clear(): void;
  /** Number of cached results. */
  readonly cacheEntries: number;
}

/** Three base64url parts; a JWE has five and an unsecured JWS an empty third, both refused here. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const REQUIRED_CLAIMS = ['exp', 'jti', 'sub', 'nbf', 'iat'];
const CLAIM_NAMES = new Set(['iss', 'aud', 'sub', 'jti', 'iat', 'nbf', 'exp', 'typ']);
/** jose, imported with the first token that needs a signature check: an idle gateway does not hold it. */
const loadJose = lazily(() => import('jose'));

/**
 * Builds a verifier. Options are checked here (TypeError); hostile input fails at verify() time.
 * @example const verifier = createTokenVerifier({ issuer: config.publicUrl, audience: config.tokens.audience,
 *   clockToleranceSeconds: config.tokens.clockToleranceSeconds, resolveKey: (kid) => state.resolveKey(kid) });
 */
export function createTokenVerifier({
  issuer,
  audience,
  clockToleranceSeconds = 30,
  resolveKey,
  now = Date.now,
  cacheSize = 10_000,
  maxHeaderBytes = 4096,
}: TokenVerifierOptions): TokenVerifier {
  if (!issuer || !audience) throw new TypeError('issuer and audience are required');
  if (typeof resolveKey !== 'function') throw new TypeError('resolveKey must be a function');
  for (const [name, value] of Object.entries({ clockToleranceSeconds, cacheSize, maxHeaderBytes })) {
    if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`${name} must be a whole number >= 0`);
  }
  // Only valid tokens get in, so eviction order is not a security question: the oldest goes first. Hits are
  // not re-inserted (as an LRU would): that churns the Map's table on every request under load.
  const cache = new Map<string, { token: VerifiedToken; validUntilMs: number }>();

  const keyFor = (header: { kid?: unknown }) => {
    const key = typeof header.kid === 'string' ? resolveKey(header.kid) : undefined;
    if (!key) throw new TokenError('ERR_TOKEN_INVALID', 'unknown signing key');
    return key;
  };

  async function verifyUncached(jws: string): Promise<VerifiedToken> {
    const { jwtVerify } = await loadJose();
    try {
      const { payload, protectedHeader } = await jwtVerify(jws, keyFor, {
        algorithms: [TOKEN_ALG],
        typ: TOKEN_TYP,
        issuer,
        audience,
        clockTolerance: clockToleranceSeconds,
        requiredClaims: REQUIRED_CLAIMS,
        currentDate: new Date(now()),
      });
      return toVerified(payload, protectedHeader.kid!);
    } catch (error) {
      throw error instanceof TokenError ? error : joseFailure(error);
    }
  }

  /** The cached token for a JWS; an expired entry is dropped. */
  function lookup(jws: string): VerifiedToken | undefined {
    const hit = cache.get(jws);
    if (hit === undefined) return undefined;
    if (hit.validUntilMs > now()) return hit.token;
    cache.delete(jws);
    return undefined;
  }

  function cached(authorization: string | readonly string[] | undefined): VerifiedToken | undefined {
    const jws = parseBearer(authorization, maxHeaderBytes);
    return typeof jws === 'string' ? lookup(jws) : undefined;
  }

  async function verify(authorization: string | readonly string[] | undefined): Promise<VerifiedToken> {
    const jws = parseBearer(authorization, maxHeaderBytes);
    if (typeof jws !== 'string') throw new TokenError(...jws);
    const hit = lookup(jws);
    if (hit) return hit;
    if (!COMPACT_JWS.test(jws)) throw new TokenError(...NOT_JWS);
    const token = await verifyUncached(jws);
    if (cacheSize > 0) {
      cache.set(jws, { token, validUntilMs: (token.exp + clockToleranceSeconds) * 1000 });
      if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
    }
    return token;
  }

  return {
    verify,
    cached,
    clear: () => cache.clear(),
    get cacheEntries() {
      return cache.size;
    },
  };
}

/** Why there is no usable Bearer JWS: the TokenError to raise. */
type BearerRefusal = readonly [code: 'ERR_TOKEN_MISSING' | 'ERR_TOKEN_MALFORMED', message: string];
const NO_CREDENTIALS: BearerRefusal = ['ERR_TOKEN_MISSING', 'no Bearer credentials'];
const TWO_HEADERS: BearerRefusal = ['ERR_TOKEN_MALFORMED', 'more than one Authorization header'];
const TOO_LARGE: BearerRefusal = ['ERR_TOKEN_MALFORMED', 'token too large'];
const NOT_JWS: BearerRefusal = ['ERR_TOKEN_MALFORMED', 'not a compact JWS'];

/**
 * The Bearer credentials out of the Authorization value(s), or why not: what is absent, duplicated or
 * oversized is refused before any parsing (so a 64 KB garbage token costs one length check). Whether they
 * are shaped like a compact JWS is checked by the caller on a cache miss (COMPACT_JWS): only checked
 * values ever enter the cache, so an exact hit needs no second pass over the token.
 */
function parseBearer(
  authorization: string | readonly string[] | undefined,
  maxBytes: number,
): string | BearerRefusal {
  const values = typeof authorization === 'string' ? [authorization] : (authorization ?? []);
  if (values.length === 0) return NO_CREDENTIALS;
  if (values.length > 1) return TWO_HEADERS;
  const value = values[0]!;
  if (value.length > maxBytes) return TOO_LARGE;
  const space = value.indexOf(' ');
  const scheme = space === -1 ? value : value.slice(0, space);
  // RFC 7235 §2.1: the scheme is case-insensitive. Another scheme means no Bearer credentials (RFC 6750 §3.1).
  if (scheme.toLowerCase() !== 'bearer') return NO_CREDENTIALS;
  return value.slice(scheme.length).trim();
}

function toVerified(payload: JWTPayload, kid: string): VerifiedToken {
  const { jti, sub, scope, exp } = payload;
  if (
    typeof jti !== 'string' ||
    !TOKEN_ID.test(jti) ||
    typeof sub !== 'string' ||
    !APP_NAME.test(sub) ||
    typeof scope !== 'string'
  ) {
    throw new TokenError('ERR_TOKEN_INVALID', 'claims invalid');
  }
  return { id: jti, app: sub, scopes: scope.split(' ').filter(Boolean), exp: exp!, kid };
}

/** A fixed, safe description for each jose failure; the original stays in `cause` for the log. */
function joseFailure(error: unknown): TokenError {
  const { code, claim, reason } = (error ?? {}) as { code?: string; claim?: string; reason?: string };
  const fail = (message: string) => new TokenError('ERR_TOKEN_INVALID', message, { cause: error });
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return fail('token expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (!claim || !CLAIM_NAMES.has(claim)) return fail('claims invalid');
      if (reason === 'missing') return fail(`${claim} missing`);
      return fail(claim === 'nbf' && reason === 'check_failed' ? 'token not yet valid' : `${claim} invalid`);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return fail('algorithm not allowed');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return fail('signature invalid');
    case 'ERR_JOSE_NOT_SUPPORTED':
      return fail('unsupported token header');
    default:
      return fail('token invalid');
  }
}
