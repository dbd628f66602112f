/**
 * @module Admin API token endpoints: list (viewer), issue (admin), revoke (operator). A token is shown
 * once, in the issue response; lists show metadata only.
 */
import { Hono } from 'hono';
import { z } from 'zod';
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
import { listTokens, type TokenRecord } from '../../tokens/token-store.js';
import type { AdminEnv } from '../admin-env.js';
import { apiActor, auditCalls, auditedChange } from './call-audit.js';
import type { AdminApiOptions } from './options.js';
import { jsonBody, parsedBy, satisfies } from './request-input.js';
import { requireRole } from './roles.js';

const BURST_PROBLEM = `burst must be a whole number from 1 to ${MAX_RATE_COUNT}`;

/** The issue body of the API (JSON) and the console (a form read into the same shape). */
export const tokenIssueBody = z.strictObject({
  app: z.string().superRefine(satisfies((app: string) => checkAppName(app, 'app'))),
  scopes: z.array(z.string()).superRefine(satisfies((scopes: string[]) => checkScopes(scopes, 'scopes'))),
  ttl: z
    .string()
    .default(DEFAULT_TOKEN_TTL)
    .transform(parsedBy((text: string) => checkTtl(text, 'ttl'))),
  rate: z
    .string()
    .transform(parsedBy((text: string) => checkRate(text, 'rate')))
    .optional(),
  burst: z.int(BURST_PROBLEM).min(1, BURST_PROBLEM).max(MAX_RATE_COUNT, BURST_PROBLEM).optional(),
  quota: z
    .string()
    .transform(parsedBy((text: string) => checkQuota(text, 'quota')))
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
