/**
 * @module Admin API audit endpoint: the audit trail of a recent period, newest first, one page at a
 * time (viewer).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { parseDuration } from '../../lib/duration.js';
import { checkAuditLimit, checkAuditTime, readAuditPage } from '../../store/audit.js';
import type { AdminEnv } from '../admin-env.js';
import { auditCalls } from './call-audit.js';
import type { AdminApiOptions } from './options.js';
import { satisfies, validQuery } from './request-input.js';
import { requireRole } from './roles.js';

const auditQuery = z.strictObject({
  /** How far back, as `mailgate audit --since`: 30m, 24h, 7d. */
  since: z
    .string()
    .default('24h')
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms !== undefined) return ms;
      ctx.addIssue({ code: 'custom', message: 'since must be a duration such as 30m, 24h or 7d' });
      return z.NEVER;
    }),
  /** Page size, as `mailgate audit --limit`. */
  limit: z
    .string()
    .superRefine(satisfies((text) => checkAuditLimit(text, 'limit')))
    .optional()
    .transform((text) => checkAuditLimit(text)),
  /** Only records before this ISO time: the `next` of the previous page. */
  before: z
    .string()
    .superRefine(satisfies((text) => checkAuditTime(text, 'before')))
    .optional()
    .transform((text) => checkAuditTime(text)),
});

/** The route `/audit`. Its own record is written after the read, so it shows in the next one. */
export function auditRoutes({ db }: AdminApiOptions): Hono<AdminEnv> {
  const audited = auditCalls(db);
  const app = new Hono<AdminEnv>();
  app.get('/', audited('api.audit.read'), requireRole('viewer'), validQuery(auditQuery), (c) => {
    const query = c.req.valid('query');
    const since = Date.now() - query.since;
    const page = readAuditPage(db, { since, before: query.before, limit: query.limit });
    return c.json({
      since: new Date(since).toISOString(),
      next: page.next === undefined ? null : new Date(page.next).toISOString(),
      entries: page.entries.map((entry) => ({ ...entry, at: new Date(entry.at).toISOString() })),
    });
  });
  return app;
}
