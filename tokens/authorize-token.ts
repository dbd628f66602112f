/**
 * @module The send plane's per-request token decision: verified (cached), not revoked, scopes cover the route.
 */
import { scopesCover } from './scopes.js';
import { TokenError } from './token-error.js';
import type { TokenLimits } from './token-limits.js';
import type { TokenState } from './token-state.js';
import type { TokenVerifier, VerifiedToken } from './verify-token.js';

/** A token allowed on the route, with the limits to apply to it. */
export interface AuthorizedToken extends VerifiedToken {
  limits: TokenLimits;
}

/**
 * The per-request checks on a verified token: not revoked, still its app's, scopes cover the route.
 * Revocation runs every time, against state the gateway refreshes when the database changes.
 * @returns the token's limits.
 * @throws TokenError REVOKED/INVALID → 401, SCOPE → 403.
 */
export function authorizeVerified(
  state: TokenState,
  token: VerifiedToken,
  requiredScopes: readonly string[],
): TokenLimits {
  const status = state.status(token.id);
  // Unknown ids fail closed: a deleted row, or another instance's token that our key happens to verify.
  if (!status || status.revoked) throw new TokenError('ERR_TOKEN_REVOKED', 'token revoked');
  if (status.app !== token.app) throw new TokenError('ERR_TOKEN_INVALID', 'claims invalid');
  if (!scopesCover(token.scopes, requiredScopes))
    throw new TokenError('ERR_TOKEN_SCOPE', 'insufficient scope', { app: token.app });
  return status.limits;
}

/**
 * Authorizes one request: verify() (the signature check may come from the verifier's cache), then
 * authorizeVerified().
 * @param authorization every Authorization value received.
 * @param requiredScopes the route's `scopes`; each must be covered (see scopesCover).
 * @throws TokenError: MISSING/MALFORMED/INVALID/REVOKED → 401, SCOPE → 403 (tokenErrorStatus).
 * @example const token = await authorizeToken(verifier, state, req.headersDistinct.authorization, route.scopes ?? []);
 */
export async function authorizeToken(
  verifier: TokenVerifier,
  state: TokenState,
  authorization: string | readonly string[] | undefined,
  requiredScopes: readonly string[],
): Promise<AuthorizedToken> {
  const token = await verifier.verify(authorization);
  return { ...token, limits: authorizeVerified(state, token, requiredScopes) };
}
