/**
 * @module Audit (viewer): the trail newest first, filtered by actor, action, outcome and time, in pages.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { auditActions, readAuditPage } from '../../store/audit.js';
import type { AdminEnv } from '../admin-env.js';
import { validQuery } from '../api/request-input.js';
import { type ConsoleOptions, renderPage } from './app.js';
import { Badge, consoleUrl, Field, FilterForm, SelectField, TableBox, Time } from './layout.js';

const PAGE_SIZE = 50;
const OUTCOMES = ['ok', 'denied', 'error'] as const;

/** `2026-12-05T01:20` as the datetime-local input sends it, read as UTC. */
const utcMinute = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, 'must be a date and time such as 2026-12-05T01:20')
  .transform((text) => Date.parse(`${text}Z`));

const auditQuery = z.strictObject({
  actor: z.string().max(200).optional(),
  action: z.string().max(100).optional(),
  outcome: z.enum(['', ...OUTCOMES]).optional(),
  from: z.union([z.literal(''), utcMinute]).optional(),
  to: z.union([z.literal(''), utcMinute]).optional(),
  /** Where the previous page ended: the `next` of readAuditPage, epoch ms. */
  page: z
    .string()
    .regex(/^\d{1,15}$/, 'must be a page position such as 1764897600000')
    .transform(Number)
    .optional(),
});

const blankToUndefined = <T,>(value: T | '' | undefined) => (value === '' ? undefined : value);

/** One line of detail: its keys and values, short. */
function detailText(detail: Record<string, unknown> | null): string {
  if (!detail) return '';
  return Object.entries(detail)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

/** The route `/audit`. */
export function auditRoutes({ db }: ConsoleOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  app.get('/', validQuery(auditQuery), (c) => {
    const query = c.req.valid('query');
    const filter = {
      actor: blankToUndefined(query.actor?.trim()),
      action: blankToUndefined(query.action?.trim()),
      outcome: blankToUndefined(query.outcome),
      from: blankToUndefined(query.from),
      to: blankToUndefined(query.to),
    };
    // `to` is exclusive like the page position, so the earlier of the two bounds the page.
    const before = Math.min(query.page ?? Number.MAX_SAFE_INTEGER, filter.to ?? Number.MAX_SAFE_INTEGER);
    const { entries: shown, next } = readAuditPage(db, {
      actor: filter.actor,
      action: filter.action,
      outcome: filter.outcome,
      since: filter.from,
      before,
      limit: PAGE_SIZE,
    });
    const raw = c.req.query();
    const withPage = (page: number | undefined) => {
      const params = new URLSearchParams();
      for (const key of ['actor', 'action', 'outcome', 'from', 'to']) if (raw[key]) params.set(key, raw[key]);
      if (page !== undefined) params.set('page', String(page));
      const text = params.toString();
      return consoleUrl(`/audit${text ? `?${text}` : ''}`);
    };
    return renderPage(
      c,
      { title: 'Audit', page: 'audit' },
      <>
        <FilterForm action={consoleUrl('/audit')}>
          <Field label="Actor" id="audit-actor">
            <input id="audit-actor" name="actor" value={raw.actor ?? ''} placeholder="cert:… or cli:…" />
          </Field>
          <Field label="Action" id="audit-action">
            <input
              id="audit-action"
              name="action"
              value={raw.action ?? ''}
              list="audit-actions"
              placeholder="cert. for all"
            />
            <datalist id="audit-actions">
              {auditActions(db).map((action) => (
                <option value={action} />
              ))}
            </datalist>
          </Field>
          <SelectField
            label="Outcome"
            id="audit-outcome"
            name="outcome"
            options={OUTCOMES}
            selected={raw.outcome}
            anyOption
          />
          <Field label="From (UTC)" id="audit-from">
            <input id="audit-from" name="from" type="datetime-local" value={raw.from ?? ''} />
          </Field>
          <Field label="To (UTC)" id="audit-to">
            <input id="audit-to" name="to" type="datetime-local" value={raw.to ?? ''} />
          </Field>
        </FilterForm>
        <TableBox label="Audit records" columns={['Time', 'Actor', 'Action', 'Target', 'Outcome', 'Detail']}>
          {shown.map((entry) => (
            <tr>
              <td class="nowrap">
                <Time ms={entry.at} />
              </td>
              <td>
                <code>{entry.actor}</code>
              </td>
              <td>{entry.action}</td>
              <td class="wrap">{entry.target ?? '—'}</td>
              <td>
                <Badge status={entry.outcome} />
              </td>
              <td class="wrap">
                <small>{detailText(entry.detail)}</small>
              </td>
            </tr>
          ))}
        </TableBox>
        {shown.length === 0 && <p>No records match.</p>}
        <nav class="pager" aria-label="Audit pages">
          {query.page !== undefined && <a href={withPage(undefined)}>Newest</a>}
          {next !== undefined && <a href={withPage(next)}>Older records</a>}
        </nav>
      </>,
    );
  });
  return app;
}
