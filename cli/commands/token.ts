/**
 * @module `mailgate token issue|list|revoke`: normalise flags, call tokens/, print.
 */
import { formatRate, type Rate } from '../../lib/duration.js';
import { withDatabase } from '../../store/database.js';
import { issueToken } from '../../tokens/issue-token.js';
import { revokeToken } from '../../tokens/revoke-token.js';
import { checkAppName, checkScopes } from '../../tokens/token-format.js';
import {
  checkQuota,
  checkRate,
  checkTtl,
  DEFAULT_TOKEN_TTL,
  MAX_RATE_COUNT,
} from '../../tokens/token-input.js';
import type { TokenLimits } from '../../tokens/token-limits.js';
import { findToken, listTokens, type TokenRecord } from '../../tokens/token-store.js';
import type { FlagValues } from '../command-spec.js';
import type { CliContext } from '../context.js';
import { optionalInteger, optionalList, optionalString, requiredString } from '../flags.js';

/** The normalised flags of `token issue`. */
export interface TokenIssueOptions {
  app: string;
  scopes: string[];
  ttlMs: number;
  rate: Rate | undefined;
  burst: number | undefined;
  quotaPerDay: number | undefined;
}

/**
 * Turns `token issue` flags into typed values; every check happens here, before the store is opened.
 * @throws UsageError naming the flag.
 */
export function parseTokenIssueFlags(flags: FlagValues): TokenIssueOptions {
  const app = checkAppName(requiredString(flags, 'app'), '--app');
  requiredString(flags, 'scope');
  const scopes = checkScopes(optionalList(flags, 'scope') ?? [], '--scope');
  const ttlMs = checkTtl(optionalString(flags, 'ttl') ?? DEFAULT_TOKEN_TTL, '--ttl');
  const rateText = optionalString(flags, 'rate');
  const rate = rateText === undefined ? undefined : checkRate(rateText, '--rate');
  const burst = optionalInteger(flags, 'burst', 1, MAX_RATE_COUNT);
  const quotaText = optionalString(flags, 'quota');
  const quotaPerDay = quotaText === undefined ? undefined : checkQuota(quotaText, '--quota');
  return { app, scopes, ttlMs, rate, burst, quotaPerDay };
}

function limitsJson({ rate, burst, quotaPerDay }: TokenLimits) {
  return {
    rate: formatRate(rate),
    burst,
    quotaPerDay: quotaPerDay ?? null,
  };
}

/** `mailgate token issue`: prints the token once (stdout) and a note (stderr). */
export async function tokenIssue(flags: FlagValues, ctx: CliContext): Promise<void> {
  const options = parseTokenIssueFlags(flags);
  const config = await ctx.config();
  const { issued, limits } = await withDatabase(ctx.dataDir, async (db) => {
    const issued = await issueToken(db, {
      ...options,
      issuer: config.publicUrl,
      audience: config.tokens.audience,
      actor: ctx.actor,
    });
    return { issued, limits: findToken(db, issued.id)!.limits };
  });
  if (ctx.json) {
    ctx.out(JSON.stringify({ ...issued, limits: limitsJson(limits) }));
  } else {
    ctx.out(issued.token);
    ctx.err(
      `token ${issued.id} for app '${issued.app}' (scopes ${issued.scopes.join(' ')}, expires ${issued.expiresAt}):` +
        ' shown once, store it now; it cannot be shown again',
    );
  }
}

function tokenStatus(token: TokenRecord, now: number) {
  if (token.revokedAt !== undefined) return 'revoked';
  return token.expiresAt <= now ? 'expired' : 'active';
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** `mailgate token list`: metadata of every token, never a token itself. */
export async function tokenList(ctx: CliContext): Promise<void> {
  const now = Date.now();
  const rows = withDatabase(ctx.dataDir, listTokens).map((t) => ({
    id: t.id,
    app: t.app,
    scopes: t.scopes,
    status: tokenStatus(t, now),
    kid: t.kid,
    limits: limitsJson(t.limits),
    createdAt: iso(t.createdAt),
    expiresAt: iso(t.expiresAt),
    revokedAt: iso(t.revokedAt),
    lastUsedAt: iso(t.lastUsedAt),
  }));
  if (ctx.json) {
    ctx.out(JSON.stringify(rows));
    return;
  }
  if (rows.length === 0) {
    ctx.err("no tokens (issue one with 'mailgate token issue')");
    return;
  }
  for (const r of rows) {
    const { rate, burst, quotaPerDay } = r.limits;
    ctx.out(
      [
        r.id,
        r.app,
        r.status,
        r.scopes.join(','),
        `${rate} burst ${burst} quota ${quotaPerDay === null ? 'none' : `${quotaPerDay}/day`}`,
      ]
        .concat(`expires ${r.expiresAt}`, `last used ${r.lastUsedAt ?? 'never'}`)
        .join('  '),
    );
  }
}

/** `mailgate token revoke ID`. @throws NotFoundError, ConflictError (already revoked). */
export async function tokenRevoke(id: string, ctx: CliContext): Promise<void> {
  const token = withDatabase(ctx.dataDir, (db) => revokeToken(db, id, ctx.actor));
  if (ctx.json) ctx.out(JSON.stringify({ id: token.id, app: token.app, revokedAt: iso(token.revokedAt) }));
  else ctx.err(`revoked token ${token.id} (app '${token.app}'); the gateway refuses it within a second`);
}
