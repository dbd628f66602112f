/**
 * @module The send-plane authentication failure, with a stable code and a short description safe to send.
 */
import { MailgateError, type TokenErrorCode } from '../lib/errors.js';

export type { TokenErrorCode };

/**
 * A refused bearer token. `message` is one of a fixed set of short texts, never attacker input,
 * so it may go into `error_description`; the underlying jose error stays in `cause` for the log.
 * The gateway answers each code (RFC 6750 §3.1):
 * - `ERR_TOKEN_MISSING`: no Bearer credentials at all (absent header or another scheme) → 401, no error code.
 * - `ERR_TOKEN_MALFORMED`: not one well-formed Bearer header with a compact JWS → 401 `invalid_token`.
 * - `ERR_TOKEN_INVALID`: signature, header or claims refused → 401 `invalid_token`.
 * - `ERR_TOKEN_REVOKED`: revoked or unknown token id → 401 `invalid_token`.
 * - `ERR_TOKEN_SCOPE`: valid token without the route's scopes → 403 `insufficient_scope`.
 */
export class TokenError extends MailgateError {
  declare readonly code: TokenErrorCode;
  /** The token's app when the token itself was valid (a missing scope), for per-app metrics. */
  readonly app: string | undefined;
  constructor(code: TokenErrorCode, message: string, options?: { cause?: unknown; app?: string }) {
    super(code, message, options);
    this.app = options?.app;
  }
}

/** The HTTP status for a token failure: 403 for a missing scope, 401 otherwise. */
export function tokenErrorStatus(error: TokenError): 401 | 403 {
  return error.code === 'ERR_TOKEN_SCOPE' ? 403 : 401;
}

/**
 * The `WWW-Authenticate` value for a token failure (RFC 6750 §3). Missing credentials carry no error code.
 * @example bearerChallenge(new TokenError('ERR_TOKEN_INVALID', 'token expired'))
 * // 'Bearer realm="mailgate", error="invalid_token", error_description="token expired"'
 */
export function bearerChallenge(
  error: TokenError,
  realm = 'mailgate',
  requiredScopes: readonly string[] = [],
) {
  const base = `Bearer realm="${realm}"`;
  if (error.code === 'ERR_TOKEN_MISSING') return base;
  if (error.code === 'ERR_TOKEN_SCOPE') {
    return `${base}, error="insufficient_scope", scope="${requiredScopes.join(' ')}"`;
  }
  return `${base}, error="invalid_token", error_description="${error.message}"`;
}
