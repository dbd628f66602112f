/**
 * @module Issuing an API token: a signed JWS handed out once, and its metadata row (audited).
 */
import { SignJWT } from 'jose';
import type { Rate } from '../lib/duration.js';
import { UsageError } from '../lib/errors.js';
import { appendAudit } from '../store/audit.js';
import type { Database } from '../store/database.js';
import { ensureSigningKey } from './signing-keys.js';
import { checkAppName, checkScopes, newTokenId, TOKEN_ALG, TOKEN_TYP } from './token-format.js';
import { insertToken } from './token-store.js';

/** Longest lifetime accepted: 10 years. Longer is a key that never dies. */
export const MAX_TOKEN_TTL_MS = 3_650 * 86_400_000;

export interface IssueTokenOptions {
  app: string;
  scopes: readonly string[];
  /** Lifetime in ms (1 s .. MAX_TOKEN_TTL_MS). */
  ttlMs: number;
  /** undefined = DEFAULT_RATE. */
  rate?: Rate | undefined;
  /** undefined = the rate's count. */
  burst?: number | undefined;
  /** Requests per UTC day; undefined = no quota. */
  quotaPerDay?: number | undefined;
  /** `iss`: config.publicUrl. */
  issuer: string;
  /** `aud`: config.tokens.audience. */
  audience: string;
  /** Who issues, for the audit trail. */
  actor: string;
  /** Clock (epoch ms); default Date.now. */
  now?: number;
}

export interface IssuedToken {
  id: string;
  app: string;
  scopes: string[];
  /** ISO 8601. */
  expiresAt: string;
  kid: string;
  /** The compact JWS. Shown once, never stored. */
  token: string;
}

function checkPositive(value: number | undefined, label: string, max = Number.MAX_SAFE_INTEGER) {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1 || value > max)) {
    throw new UsageError(`${label} must be a whole number from 1 to ${max}`);
  }
}

/**
 * Signs a token for `app` with the active key and records its metadata (limits stay server-side, keyed
 * by id, so they can change without reissuing). Token row and audit entry land in one transaction.
 * @throws UsageError for a bad app name, scope, ttl, burst or quota (nothing written).
 * @example const { token } = await issueToken(db, { app: 'shop', scopes: ['send'], ttlMs: 90 * 86_400_000,
 *   issuer: config.publicUrl, audience: config.tokens.audience, actor: ctx.actor });
 */
export async function issueToken(db: Database, options: IssueTokenOptions): Promise<IssuedToken> {
  const app = checkAppName(options.app);
  const scopes = checkScopes(options.scopes);
  if (!Number.isSafeInteger(options.ttlMs) || options.ttlMs < 1_000 || options.ttlMs > MAX_TOKEN_TTL_MS) {
    throw new UsageError(`ttl must be from 1 s to 3650 days, got ${options.ttlMs} ms`);
  }
  checkPositive(options.rate?.count, 'rate count');
  checkPositive(options.burst, 'burst');
  checkPositive(options.quotaPerDay, 'quota');
  const now = options.now ?? Date.now();
  const iat = Math.floor(now / 1000);
  const exp = iat + Math.floor(options.ttlMs / 1000);
  const id = newTokenId();
  const key = await ensureSigningKey(db, options.actor);
  const token = await new SignJWT({ scope: scopes.join(' ') })
    .setProtectedHeader({ alg: TOKEN_ALG, typ: TOKEN_TYP, kid: key.kid })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(app)
    .setJti(id)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .sign(key.privateKey);
  db.transaction(() => {
    insertToken(db, {
      id,
      app,
      scopes,
      kid: key.kid,
      rate: options.rate,
      burst: options.burst,
      quotaPerDay: options.quotaPerDay,
      createdAt: now,
      expiresAt: exp * 1000,
    });
    appendAudit(db, {
      actor: options.actor,
      action: 'token.issue',
      target: id,
      at: now,
      detail: { app, scopes, kid: key.kid, expiresAt: exp * 1000 },
    });
  })();
  return { id, app, scopes, expiresAt: new Date(exp * 1000).toISOString(), kid: key.kid, token };
}
