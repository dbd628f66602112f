/**
 * @module The tokens capability's public surface: what the gateway and the CLI import.
 */
export { type AuthorizedToken, authorizeToken } from './authorize-token.js';
export { type IssuedToken, type IssueTokenOptions, issueToken, MAX_TOKEN_TTL_MS } from './issue-token.js';
export { type RateLimitDecision, RateLimiter, type RateLimiterOptions } from './rate-limiter.js';
export { revokeToken } from './revoke-token.js';
export { scopesCover } from './scopes.js';
export {
  type ActiveSigningKey,
  ensureSigningKey,
  type PublicJwk,
  publicJwks,
  rotateSigningKey,
} from './signing-keys.js';
export { bearerChallenge, TokenError, type TokenErrorCode, tokenErrorStatus } from './token-error.js';
export { DEFAULT_RATE, type TokenLimits } from './token-limits.js';
export { TokenState, type TokenStatus } from './token-state.js';
export { listTokens, type TokenRecord } from './token-store.js';
export {
  createTokenVerifier,
  type TokenVerifier,
  type TokenVerifierOptions,
  type VerifiedToken,
} from './verify-token.js';
