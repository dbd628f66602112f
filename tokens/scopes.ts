/**
 * @module Scope matching for token routes. Pure.
 */

/**
 * Whether one granted scope covers one required scope: equal, or the granted scope ends in `:*` and the
 * required one lies beneath its prefix (`send:*` covers `send:welcome` and `send:welcome:de`, not `send`).
 * A bare `*` has no special meaning, so no token can hold "everything" (it cannot be issued either).
 */
function covers(granted: string, required: string): boolean {
  if (granted === required) return true;
  return (
    granted.endsWith(':*') && required.startsWith(granted.slice(0, -1)) && required.length >= granted.length
  );
}

/**
 * Whether the token's scopes cover a route: EVERY scope listed on the route must be covered by at least
 * one granted scope (a route listing `[send, send:bulk]` needs both). A route with no scopes admits
 * any valid token.
 * @example scopesCover(['send:*'], ['send:welcome']) // true
 * @example scopesCover(['send'], ['send:welcome']) // false
 */
export function scopesCover(granted: readonly string[], required: readonly string[]): boolean {
  return required.every((r) => granted.some((g) => covers(g, r)));
}
