/**
 * @module `mailgate token issue|list|revoke`: normalise flags, call tokens/, print.
 */
import { formatRate } from '../../lib/duration.js';
import { withDatabase } from '../../store/database.js';
import { issueToken } from '../../tokens/issue-token.js';
import { revokeToken } from '../../tokens/revoke-token.js';
import {
  checkTokenRequest,
  MAX_RATE_COUNT,
  type TokenRequest,
  type TokenRequestInput,
} from '../../tokens/token-input.js';
import type { TokenLimits } from '../../tokens/token-limits.js';
import { tokenMetadata } from '../../tokens/token-metadata.js';
import { findToken, listTokens } from '../../tokens/token-store.js';
import type { FlagValues } from '../command-spec.js';
import type { CliContext } from '../context.js';
import { optionalInteger, optionalList, optionalString, requiredString } from '../flags.js';

/** The normalised flags of `token issue`. */
export type TokenIssueOptions = TokenRequest;

/** The flag of each field of a token request. */
const FLAG_OF: Readonly<Record<keyof TokenRequestInput, string>> = {
  app: '--app',
  scopes: '--scope',
  ttl: '--ttl',
  rate: '--rate',
  burst: '--burst',
  quota: '--quota',
};

/**
 * Turns `token issue` flags into typed values; every check happens here, before the store is opened.
 * @throws UsageError naming the flag.
 */
export function parseTokenIssueFlags(flags: FlagValues): TokenIssueOptions {
  const app = requiredString(flags, 'app');
  requiredString(flags, 'scope');
  return checkTokenRequest(
    {
      app,
      scopes: optionalList(flags, 'scope') ?? [],
      ttl: optionalString(flags, 'ttl'),
      rate: optionalString(flags, 'rate'),
      burst: optionalInteger(flags, 'burst', 1, MAX_RATE_COUNT),
      quota: optionalString(flags, 'quota'),
    },
    (field) => FLAG_OF[field],
  );
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

/** `mailgate token list`: metadata of every token, never a token itself. */
export async function tokenList(ctx: CliContext): Promise<void> {
  const now = Date.now();
  const rows = withDatabase(ctx.dataDir, listTokens).map((token) => ({
    ...tokenMetadata(token, now),
    limits: limitsJson(token.limits),
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
  if (ctx.json) {
    const { id, app, revokedAt } = tokenMetadata(token, Date.now());
    ctx.out(JSON.stringify({ id, app, revokedAt }));
  } else ctx.err(`revoked token ${token.id} (app '${token.app}'); the gateway refuses it within a second`);
}
