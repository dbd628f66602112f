/**
 * @module Admin API token endpoints: list (viewer), issue (admin), revoke (operator). A token is shown
 * once, in the issue response; lists show metadata only.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { issueToken } from '../../tokens/issue-token.js';
import { revokeToken } from '../../tokens/revoke-token.js';
import { checkTokenRequest, MAX_RATE_COUNT } from '../../tokens/token-input.js';
import type { TokenLimits } from '../../tokens/token-limits.js';
import { tokenMetadata } from '../../tokens/token-metadata.js';
import { listTokens, type TokenRecord } from '../../tokens/token-store.js';
import type { AdminEnv } from '../admin-env.js';
import { apiActor, auditCalls, auditedChange } from './call-audit.js';
import type { AdminApiOptions } from './options.js';
import { jsonBody, parsedBy } from './request-input.js';
import { requireRole } from './roles.js';

const BURST_PROBLEM = `burst must be a whole number from 1 to ${MAX_RATE_COUNT}`;

/**
 * The issue body of the API (JSON) and the console (a form read into the same shape): the kinds here, the
 * values checked by tokens/ as the CLI checks its flags (a refusal names its field).
 */
export const tokenIssueBody = z
  .strictObject({
    app: z.string(),
    scopes: z.array(z.string()),
    ttl: z.string().optional(),
    rate: z.string().optional(),
    burst: z.int(BURST_PROBLEM).optional(),
    quota: z.string().optional(),
  })
  .transform(parsedBy(checkTokenRequest));

export type TokenIssueBody = z.output<typeof tokenIssueBody>;

function limitsJson({ rate, burst, quotaPerDay }: TokenLimits) {
  return { rate: { count: rate.count, perMs: rate.perMs }, burst, quotaPerDay: quotaPerDay ?? null };
}

/** A token's metadata as the API shows it (never the token). */
export function tokenJson(token: TokenRecord, now: number) {
  return { ...tokenMetadata(token, now), limits: limitsJson(token.limits) };
}

/** Issues a token from a validated issue body; the token is in the result, shown once. */
export function issueTokenFor(
  { db, config }: Pick<AdminApiOptions, 'db' | 'config'>,
  body: TokenIssueBody,
  actor: string,
) {
  return issueToken(db, {
    ...body,
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
