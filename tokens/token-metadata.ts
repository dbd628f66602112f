/**
 * @module A token's metadata as `token list`, the admin API and the console show it (never the token).
 */
import type { TokenRecord } from './token-store.js';

export type TokenLifeStatus = 'active' | 'expired' | 'revoked';

/** Revoked wins over expired: a revoked token stays revoked after its expiry. */
export function tokenStatus(token: TokenRecord, now: number): TokenLifeStatus {
  if (token.revokedAt !== undefined) return 'revoked';
  return token.expiresAt <= now ? 'expired' : 'active';
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * A token's metadata for display, times as ISO 8601 (null when never). The limits stay as stored: the CLI
 * writes the rate as text, the API as numbers.
 */
export function tokenMetadata(token: TokenRecord, now: number) {
  return {
    id: token.id,
    app: token.app,
    scopes: token.scopes,
    status: tokenStatus(token, now),
    kid: token.kid,
    limits: token.limits,
    createdAt: iso(token.createdAt),
    expiresAt: iso(token.expiresAt),
    revokedAt: iso(token.revokedAt),
    lastUsedAt: iso(token.lastUsedAt),
  };
}
