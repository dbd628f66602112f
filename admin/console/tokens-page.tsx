/**
 * @module Tokens: list with last use, limits and today's quota use (viewer), issue with the token shown
 * once (admin), revoke (operator).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { formatRate } from '../../lib/duration.js';
import { revokeToken } from '../../tokens/revoke-token.js';
import { utcDay } from '../../tokens/token-bucket.js';
import { tokenStatus } from '../../tokens/token-metadata.js';
import { listTokens } from '../../tokens/token-store.js';
import { loadUsage } from '../../tokens/usage-store.js';
import type { AdminEnv } from '../admin-env.js';
import { apiActor, auditCalls, auditedChange } from '../api/call-audit.js';
import { formBody, validated, validQuery } from '../api/request-input.js';
import { requireRole, roleAtLeast } from '../api/roles.js';
import { issueTokenFor, tokenIssueBody } from '../api/tokens.js';
import { type ConsoleOptions, renderPage, viewerOf } from './app.js';
import { optionalFields } from './form-fields.js';
import {
  Badge,
  consoleUrl,
  InputField,
  Notice,
  RoleNote,
  RowAction,
  relative,
  TableBox,
  Time,
} from './layout.js';

const listQuery = z.strictObject({ revoked: z.string().max(64).optional() });

/** Scopes as typed in one field: separated by commas or spaces, as on the command line. */
const splitScopes = (text: string) => text.split(/[\s,]+/).filter(Boolean);

function IssueForm() {
  return (
    <form method="post" action={consoleUrl('/tokens')} class="card form">
      <h2>Issue a token</h2>
      <div class="grid">
        <InputField
          label="App"
          id="token-app"
          hint="Who sends with it, e.g. shop or newsletter"
          name="app"
          required
        />
        <InputField
          label="Scopes"
          id="token-scopes"
          hint="Separated by commas, e.g. send:smtp"
          name="scopes"
          required
        />
        <InputField label="Lifetime" id="token-ttl" hint="e.g. 90d, 12h" name="ttl" value="90d" />
        <InputField label="Rate (optional)" id="token-rate" hint="e.g. 60/min" name="rate" />
        <InputField label="Burst (optional)" id="token-burst" name="burst" type="number" min="1" />
        <InputField label="Daily quota (optional)" id="token-quota" hint="e.g. 1000/day" name="quota" />
      </div>
      <button type="submit">Issue token</button>
    </form>
  );
}

/** The routes under `/tokens`. */
export function tokenRoutes(options: ConsoleOptions): Hono<AdminEnv> {
  const { db } = options;
  const audited = auditCalls(db);
  const app = new Hono<AdminEnv>();

  app.get('/', validQuery(listQuery), (c) => {
    const now = Date.now();
    const tokens = listTokens(db);
    const usedToday = loadUsage(db, utcDay(now));
    const role = viewerOf(c)?.role;
    const { revoked } = c.req.valid('query');
    const revokedNow = tokens.find((token) => token.id === revoked && token.revokedAt !== undefined);
    return renderPage(
      c,
      { title: 'Tokens', page: 'tokens' },
      <>
        {revokedNow && (
          <Notice kind="ok">{`Token ${revokedNow.id} (${revokedNow.app}) is revoked: the send plane refuses it now.`}</Notice>
        )}
        <TableBox
          label="Tokens"
          columns={['App', 'Scopes', 'Status', 'Last use', 'Rate', 'Quota used today', 'Expires']}
          actions
        >
          {tokens.map((token) => {
            const status = tokenStatus(token, now);
            const used = usedToday.get(token.id) ?? 0;
            const quota = token.limits.quotaPerDay;
            return (
              <tr>
                <td>
                  {token.app}
                  <small class="muted block">
                    <code>{token.id}</code>
                  </small>
                </td>
                <td>{token.scopes.join(', ')}</td>
                <td>
                  <Badge status={status} />
                </td>
                <td>{token.lastUsedAt === undefined ? 'never' : relative(token.lastUsedAt, now)}</td>
                <td>{`${formatRate(token.limits.rate)}, burst ${token.limits.burst}`}</td>
                <td>
                  {quota === undefined ? (
                    `${used} (no quota)`
                  ) : (
                    <>
                      <meter min={0} max={quota} value={used} aria-label={`${token.app} quota used`} />{' '}
                      {`${used} / ${quota}`}
                    </>
                  )}
                </td>
                <td>
                  <Time ms={token.expiresAt} />
                </td>
                <td>
                  {status === 'active' && roleAtLeast(role, 'operator') && (
                    <RowAction
                      action={consoleUrl(`/tokens/${token.id}/revoke`)}
                      label="Revoke"
                      row={`${token.app} ${token.id}`}
                      confirm={`Revoke the token of ${token.app}? Apps using it stop sending at once.`}
                    />
                  )}
                </td>
              </tr>
            );
          })}
        </TableBox>
        {roleAtLeast(role, 'admin') ? <IssueForm /> : <RoleNote needs="admin" what="issue tokens" />}
      </>,
    );
  });

  app.post('/', audited('console.tokens.issue'), requireRole('admin'), formBody(), async (c) => {
    const form = c.req.valid('form');
    const body = validated(
      tokenIssueBody,
      {
        ...optionalFields(form, ['app', 'ttl', 'rate', 'quota']),
        ...optionalFields(form, ['burst'], Number),
        scopes: splitScopes(form.scopes ?? ''),
      },
      'body',
    );
    const issued = await issueTokenFor(options, body, apiActor(c));
    c.get('adminApiCall').target = issued.id;
    return renderPage(
      c,
      { title: 'Token issued', page: 'tokens', status: 201 },
      <>
        <Notice kind="ok">{`Issued ${issued.id} for ${issued.app} (${issued.scopes.join(', ')}), valid until ${issued.expiresAt.slice(0, 10)}.`}</Notice>
        <section class="card secret" aria-labelledby="secret-heading">
          <h2 id="secret-heading">The token: shown only now</h2>
          <p>Put it into the app's configuration now; mailgate keeps only its id.</p>
          <p class="secret-value">
            <output id="token-value" class="token">
              {issued.token}
            </output>
          </p>
          <button type="button" data-copy="token-value">
            Copy token
          </button>
        </section>
        <p>
          <a href={consoleUrl('/tokens')}>Back to the tokens</a>
        </p>
      </>,
    );
  });

  app.post('/:id/revoke', audited('console.tokens.revoke'), requireRole('operator'), formBody(), (c) => {
    const revoked = auditedChange(c, db, 303, () => revokeToken(db, c.req.param('id'), apiActor(c)));
    return c.redirect(consoleUrl(`/tokens?revoked=${encodeURIComponent(revoked.id)}`), 303);
  });

  return app;
}
