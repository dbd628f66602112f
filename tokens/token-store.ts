/**
 * @module SQL for the tokens table: insert, read, mark revoked. No policy here.
 */
import type { Database } from '../store/database.js';
import { effectiveLimits, type StoredLimits, type TokenLimits } from './token-limits.js';

/** A token's metadata (never the token itself). Times are epoch ms. */
export interface TokenRecord {
  id: string;
  app: string;
  scopes: string[];
  kid: string;
  limits: TokenLimits;
  /** Which limits were set explicitly at issue (the rest are defaults). */
  explicit: { rate: boolean; burst: boolean; quotaPerDay: boolean };
  createdAt: number;
  expiresAt: number;
  revokedAt: number | undefined;
  lastUsedAt: number | undefined;
}

interface TokenRow extends StoredLimits {
  id: string;
  app: string;
  scopes: string;
  kid: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** The values written for a new token; limits undefined = default. */
export interface NewTokenRow {
  id: string;
  app: string;
  scopes: readonly string[];
  kid: string;
  rate: { count: number; perMs: number } | undefined;
  burst: number | undefined;
  quotaPerDay: number | undefined;
  createdAt: number;
  expiresAt: number;
}

const COLUMNS =
  'id, app, scopes, kid, rate_count, rate_per_ms, burst, quota_per_day, created_at, expires_at, revoked_at, last_used_at';

function toRecord(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    app: row.app,
    scopes: JSON.parse(row.scopes) as string[],
    kid: row.kid,
    limits: effectiveLimits(row),
    explicit: {
      rate: row.rate_count !== null,
      burst: row.burst !== null,
      quotaPerDay: row.quota_per_day !== null,
    },
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at ?? undefined,
    lastUsedAt: row.last_used_at ?? undefined,
  };
}

/** Inserts one token row; call inside the issuing transaction. */
export function insertToken(db: Database, token: NewTokenRow): void {
  db.prepare(
    `INSERT INTO tokens (id, app, scopes, kid, rate_count, rate_per_ms, burst, quota_per_day, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    token.id,
    token.app,
    JSON.stringify(token.scopes),
    token.kid,
    token.rate?.count ?? null,
    token.rate?.perMs ?? null,
    token.burst ?? null,
    token.quotaPerDay ?? null,
    token.createdAt,
    token.expiresAt,
  );
}

/** One token by id, or undefined. */
export function findToken(db: Database, id: string): TokenRecord | undefined {
  const row = db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE id = ?`).get(id) as TokenRow | undefined;
  return row && toRecord(row);
}

/** Every token, oldest first; `since` (epoch ms) keeps only those expiring after it. */
export function listTokens(db: Database, since = 0): TokenRecord[] {
  const rows = db
    .prepare(`SELECT ${COLUMNS} FROM tokens WHERE expires_at > ? ORDER BY created_at, id`)
    .all(since) as TokenRow[];
  return rows.map(toRecord);
}

/** Sets revoked_at on a token that is not revoked yet. @returns whether a row changed. */
export function markTokenRevoked(db: Database, id: string, at: number): boolean {
  return (
    db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes ===
    1
  );
}
