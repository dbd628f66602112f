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
 * Authorizes one request. The signature check may come from the verifier's cache; revocation and the
 * scope check run every time, against state the gateway refreshes when the database changes.
 * @param authorization every Authorization value received (`req.headersDistinct.authorization`).
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
  const status = state.status(token.id);
  // Unknown ids fail closed: a deleted row, or another instance's token that our key happens to verify.
  if (!status || status.revoked) throw new TokenError('ERR_TOKEN_REVOKED', 'token revoked');
  if (status.app !== token.app) throw new TokenError('ERR_TOKEN_INVALID', 'claims invalid');
  if (!scopesCover(token.scopes, requiredScopes))
    throw new TokenError('ERR_TOKEN_SCOPE', 'insufficient scope', { app: token.app });
  return { ...token, limits: status.limits };
}
