/**
 * @module The fixed shape of mailgate tokens: header values, id and name formats, id generation.
 */
import { randomBytes } from 'node:crypto';
import { UsageError } from '../lib/errors.js';

/** The only signature algorithm issued and accepted (RFC 8037 Ed25519). */
export const TOKEN_ALG = 'EdDSA';
/** Explicit `typ` (RFC 8725 §3.11) so a mailgate token cannot be confused with another JWT kind. */
export const TOKEN_TYP = 'mailgate+jwt';

/** App names follow the certificate name rule. */
export const APP_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
/** One scope: letters, digits and `: . _ -`, optionally ending in `:*` (RFC 6749 §3.3 allows more; we allow less). */
export const SCOPE = /^[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)*(:\*)?$/;
/** Token ids: `tok_` + 16 url-safe characters (96 random bits). */
export const TOKEN_ID = /^tok_[A-Za-z0-9_-]{16}$/;
/** Key ids: 22 url-safe characters (128 random bits). */
export const KEY_ID = /^[A-Za-z0-9_-]{22}$/;

/** A fresh random token id. */
export function newTokenId(): string {
  return `tok_${randomBytes(12).toString('base64url')}`;
}

/** A fresh random key id, unguessable so it says nothing about the key. */
export function newKeyId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Checks an app name. @throws UsageError naming `label` (the flag or field).
 */
export function checkAppName(app: string, label = 'app'): string {
  if (!APP_NAME.test(app)) throw new UsageError(`${label} must be 1-64 characters of A-Z a-z 0-9 . _ @ -`);
  return app;
}

/**
 * Checks and de-duplicates scopes (at least one). @throws UsageError naming `label`.
 * @example checkScopes(['send:welcome', 'send:welcome']) // ['send:welcome']
 */
export function checkScopes(scopes: readonly string[], label = 'scope'): string[] {
  if (scopes.length === 0) throw new UsageError(`${label} needs at least one scope`);
  const bad = scopes.find((scope) => !SCOPE.test(scope));
  if (bad !== undefined) {
    throw new UsageError(
      `${label}: '${bad}' is not a scope (letters, digits, . _ - separated by ':', optional ':*')`,
    );
  }
  return [...new Set(scopes)];
}
