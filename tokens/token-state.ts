/**
 * @module The gateway's in-memory view of token state (keys, revocations, limits), reloaded from SQLite
 * whenever the gateway notices a change (`PRAGMA data_version`), so the request path never queries.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Database } from '../store/database.js';
import { loadVerificationKeys, type PublicJwk, publicJwks } from './signing-keys.js';
import { effectiveLimits, type StoredLimits, type TokenLimits } from './token-limits.js';

/** What the request path needs about one token id. */
export interface TokenStatus {
  app: string;
  revoked: boolean;
  limits: TokenLimits;
}

interface StateRow extends StoredLimits {
  id: string;
  app: string;
  revoked_at: number | null;
}

/**
 * Token state loaded from the store. Call `refresh()` after the database changed; it is one query over
 * unexpired tokens plus one over keys (KeyObjects are built once per kid).
 * @example const state = new TokenState(db); createTokenVerifier({ ..., resolveKey: (kid) => state.resolveKey(kid) });
 */
export class TokenState {
  readonly #db: Database | undefined;
  readonly #now: () => number;
  #keys: Map<string, KeyObject> = new Map();
  #tokens: Map<string, TokenStatus> = new Map();
  #jwks: { keys: PublicJwk[] } = { keys: [] };

  /**
   * Loads at once from `db`; without one (a cluster replica) it knows nothing until `replace`. `now` (epoch
   * ms) decides which expired rows to skip; default Date.now.
   */
  constructor(db: Database | undefined, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
    this.refresh();
  }

  /** Reloads keys and token rows; readers see either the old or the new state, never a mix. */
  refresh(): void {
    if (!this.#db) return;
    const keys = loadVerificationKeys(this.#db, this.#keys);
    const rows = this.#db
      .prepare(
        'SELECT id, app, revoked_at, rate_count, rate_per_ms, burst, quota_per_day FROM tokens WHERE expires_at > ?',
      )
      .all(this.#now() - 86_400_000) as StateRow[];
    // Expired tokens are refused by their exp claim anyway; a day of slack covers clock tolerance.
    this.#tokens = new Map(
      rows.map((row) => [
        row.id,
        { app: row.app, revoked: row.revoked_at !== null, limits: effectiveLimits(row) },
      ]),
    );
    this.#keys = keys;
    this.#jwks = publicJwks(this.#db);
  }

  /**
   * Takes the state another node published (a cluster replica): public keys, and each token's app, limits
   * and revocation. KeyObjects already built are kept, as in refresh().
   */
  replace(jwks: readonly PublicJwk[], tokens: Iterable<[string, TokenStatus]>): void {
    const keys = new Map<string, KeyObject>();
    for (const jwk of jwks)
      keys.set(jwk.kid, this.#keys.get(jwk.kid) ?? createPublicKey({ key: { ...jwk }, format: 'jwk' }));
    this.#tokens = new Map(tokens);
    this.#keys = keys;
    this.#jwks = { keys: [...jwks] };
  }

  /** Every known token id with its status (what an origin node publishes for its replicas). */
  entries(): IterableIterator<[string, TokenStatus]> {
    return this.#tokens.entries();
  }

  /** The document for /.well-known/jwks.json as of the last refresh (no query per request). */
  get jwks(): { keys: PublicJwk[] } {
    return this.#jwks;
  }

  /** The public key for a kid in our store, or undefined (unknown kid = invalid token). */
  resolveKey(kid: string): KeyObject | undefined {
    return this.#keys.get(kid);
  }

  /**
   * Whether the token id must be refused: revoked, or unknown here (deleted row, or a token from
   * another instance that happens to verify). Fail closed.
   */
  isRevoked(id: string): boolean {
    return this.#tokens.get(id)?.revoked ?? true;
  }

  /** Everything stored about one id, or undefined when unknown. */
  status(id: string): TokenStatus | undefined {
    return this.#tokens.get(id);
  }

  /** The effective limits of a known token id, or undefined when unknown. */
  limitsFor(id: string): TokenLimits | undefined {
    return this.#tokens.get(id)?.limits;
  }
}
