/**
 * @module Admin API token endpoints: list (viewer), issue (admin), revoke (operator). A token is shown
 * once, in the issue response; lists show metadata only.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { parseDuration, parseRate } from '../../lib/duration.js';
import { issueToken, MAX_TOKEN_TTL_MS } from '../../tokens/issue-token.js';
import { revokeToken } from '../../tokens/revoke-token.js';
import { checkAppName, checkScopes } from '../../tokens/token-format.js';
import type { TokenLimits } from '../../tokens/token-limits.js';
import { listTokens, type TokenRecord } from '../../tokens/token-store.js';
import type { AdminEnv } from '../admin-env.js';
import { apiActor, auditCalls, auditedChange } from './call-audit.js';
import type { AdminApiOptions } from './options.js';
import { jsonBody, satisfies } from './request-input.js';
import { requireRole } from './roles.js';

/** As `mailgate token issue`: 90 days unless asked otherwise. */
const DEFAULT_TTL = '90d';
/** Highest rate count or burst accepted, as on the command line. */
const MAX_RATE_COUNT = 1_000_000;
const DAY_MS = 86_400_000;

/** The issue body of the API (JSON) and the console (a form read into the same shape). */
export const tokenIssueBody = z.strictObject({
  app: z.string().superRefine(satisfies((app: string) => checkAppName(app, 'app'))),
  scopes: z.array(z.string()).superRefine(satisfies((scopes: string[]) => checkScopes(scopes, 'scopes'))),
  ttl: z
    .string()
    .default(DEFAULT_TTL)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms !== undefined && ms >= 1_000 && ms <= MAX_TOKEN_TTL_MS) return ms;
      ctx.addIssue({ code: 'custom', message: `ttl must be a duration from 1s to 3650d such as 90d or 12h` });
      return z.NEVER;
    }),
  rate: z
    .string()
    .transform((text, ctx) => {
      const rate = parseRate(text);
      if (rate && rate.count <= MAX_RATE_COUNT) return rate;
      ctx.addIssue({
        code: 'custom',
        message: 'rate must be COUNT/UNIT (unit s, min, h or day) such as 60/min',
      });
      return z.NEVER;
    })
    .optional(),
  burst: z.int().min(1).max(MAX_RATE_COUNT).optional(),
  quota: z
    .string()
    .transform((text, ctx) => {
      const quota = parseRate(text);
      if (quota?.perMs === DAY_MS) return quota.count;
      ctx.addIssue({ code: 'custom', message: 'quota must be COUNT/day such as 1000/day' });
      return z.NEVER;
    })
    .optional(),
});

export type TokenIssueBody = z.output<typeof tokenIssueBody>;

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function limitsJson({ rate, burst, quotaPerDay }: TokenLimits) {
  return { rate: { count: rate.count, perMs: rate.perMs }, burst, quotaPerDay: quotaPerDay ?? null };
}

/** A token's metadata as the API shows it (never the token). */
export function tokenJson(token: TokenRecord, now: number) {
  const status = token.revokedAt !== undefined ? 'revoked' : token.expiresAt <= now ? 'expired' : 'active';
  return {
    id: token.id,
    app: token.app,
    scopes: token.scopes,
    status,
    kid: token.kid,
    limits: limitsJson(token.limits),
    createdAt: iso(token.createdAt),
    expiresAt: iso(token.expiresAt),
    revokedAt: iso(token.revokedAt),
    lastUsedAt: iso(token.lastUsedAt),
  };
}

/** Issues a token from a validated issue body; the token is in the result, shown once. */
export function issueTokenFor(
  { db, config }: Pick<AdminApiOptions, 'db' | 'config'>,
  body: TokenIssueBody,
  actor: string,
) {
  return issueToken(db, {
    app: body.app,
    scopes: body.scopes,
    ttlMs: body.ttl,
    rate: body.rate,
    burst: body.burst,
    quotaPerDay: body.quota,
    issuer: config.publicUrl,
    audience: config.tokens.audience,
    actor,
  });
}

/** The routes under `/tokens`. */
export function tokenRoutes(options: AdminApiOptions): Hono<AdminEnv> {
  const { db } = options;
  const audited = auditCalls(db);
  const app = new Hono<AdminEnv>();

  app.get('/', audited('api.tokens.list'), requireRole('viewer'), (c) => {
    const now = Date.now();
    return c.json({ tokens: listTokens(db).map((token) => tokenJson(token, now)) });
  });

  // issueToken commits its row and record itself (after async signing); the call record follows it.
  app.post('/', audited('api.tokens.issue'), requireRole('admin'), jsonBody(tokenIssueBody), async (c) => {
    const issued = await issueTokenFor(options, c.req.valid('json'), apiActor(c));
    c.get('adminApiCall').target = issued.id;
    return c.json(issued, 201);
  });

  app.post(
    '/:id/revoke',
    audited('api.tokens.revoke'),
    requireRole('operator'),
    jsonBody(z.strictObject({}), { optional: true }),
    (c) => {
      const revoked = auditedChange(c, db, 200, () => revokeToken(db, c.req.param('id'), apiActor(c)));
      return c.json(tokenJson(revoked, Date.now()));
    },
  );

  return app;
}
