/**
 * @module Onboard an admin (admin role): the form doing what `mailgate admin onboard` does, ending on a
 * page with the password (once), the QR code of the tunnel and the bundle's files as downloads.
 */
import { Hono } from 'hono';
import { type CLIENT_ROLES, checkDays, checkEmail } from '../../certs/rules.js';
import { withDatabase } from '../../store/database.js';
import { parseIpAddress, readServer } from '../../wireguard/index.js';
import type { AdminEnv } from '../admin-env.js';
import { apiActor, auditCalls } from '../api/call-audit.js';
import { formBody } from '../api/request-input.js';
import { requireRole, roleAtLeast } from '../api/roles.js';
import { onboardAdmin } from '../onboard.js';
import { adminPagesUrl } from '../onboard-guide.js';
import { type ConsoleOptions, renderPage, viewerOf } from './app.js';
import { CertificateFields } from './certificates-page.js';
import { optionalFields } from './form-fields.js';
import { consoleUrl, Download, dataUrl, InputField, Notice, RoleNote } from './layout.js';
import { ApplyReminder, ipList } from './wireguard-page.js';

function OnboardForm({ maxDays, defaultDays }: { maxDays: number; defaultDays: number }) {
  return (
    <form method="post" action={consoleUrl('/onboard')} class="card form">
      <p>
        One step: a client certificate with its PKCS#12 file and password, a WireGuard peer with its QR code,
        and a guide for the new admin. Nothing is written to the server's disk; the files are offered here
        once.
      </p>
      <div class="grid">
        <CertificateFields
          idPrefix="onboard"
          defaultRole="admin"
          nameHint="Certificate and peer name, e.g. alice"
          maxDays={maxDays}
          defaultDays={defaultDays}
        />
        <InputField
          label="Tunnel DNS servers (optional)"
          id="onboard-dns"
          hint="IP addresses, separated by commas"
          name="dns"
        />
        <InputField
          label="Route the public address (optional)"
          id="onboard-route"
          hint="The server's public IP"
          name="routePublic"
        />
      </div>
      <button type="submit">Onboard</button>
    </form>
  );
}

/** The routes under `/onboard`. */
export function onboardRoutes(options: ConsoleOptions): Hono<AdminEnv> {
  const { db, dataDir, config } = options;
  const audited = auditCalls(db);
  const app = new Hono<AdminEnv>();
  const defaultDays = Math.min(config.ca.clientDays, config.ca.maxDays);

  app.get('/', (c) => {
    const role = viewerOf(c)?.role;
    return renderPage(
      c,
      { title: 'Onboard an admin', page: 'onboard' },
      !readServer(db) ? (
        <Notice kind="info">
          Onboarding adds a WireGuard peer: run <code>mailgate wg init --endpoint HOST:51820</code> on the
          server first.
        </Notice>
      ) : roleAtLeast(role, 'admin') ? (
        <OnboardForm maxDays={config.ca.maxDays} defaultDays={defaultDays} />
      ) : (
        <RoleNote needs="admin" what="onboard admins" />
      ),
    );
  });

  app.post('/', audited('console.onboard'), requireRole('admin'), formBody(), async (c) => {
    const form = optionalFields(c.req.valid('form'), ['name', 'role', 'email', 'days', 'dns', 'routePublic']);
    const input = {
      name: form.name ?? '',
      role: (form.role ?? 'admin') as (typeof CLIENT_ROLES)[number],
      email: form.email === undefined ? undefined : checkEmail(form.email),
      days: checkDays(form.days, defaultDays, config.ca.maxDays, 'days'),
      dns: ipList(form.dns, 'dns'),
      routePublic:
        form.routePublic === undefined ? undefined : parseIpAddress(form.routePublic, 'routePublic'),
    };
    // onboardAdmin keeps its transaction open across key generation: it gets a connection of its own.
    const result = await withDatabase(dataDir, (own) =>
      onboardAdmin(own, dataDir, { ...input, adminUrl: adminPagesUrl(config.publicUrl), actor: apiActor(c) }),
    );
    c.get('adminApiCall').target = result.name;
    const { bundle, name } = result;
    return renderPage(
      c,
      { title: `${name} is onboarded`, page: 'onboard', status: 201 },
      <>
        <Notice kind="ok">
          {`Certificate ${result.serial} (role ${result.role}) and WireGuard peer ${result.address} are ready.`}
        </Notice>
        <section class="card secret" aria-labelledby="secret-heading">
          <h2 id="secret-heading">Shown only now</h2>
          <p>Give the password to {name} by another channel than the files.</p>
          <p class="secret-value">
            <span class="label">PKCS#12 password</span> <output id="p12-password">{result.password}</output>{' '}
            <button type="button" class="secondary small" data-copy="p12-password">
              Copy
            </button>
          </p>
          <div class="onboard-result">
            <img
              class="qr"
              src={dataUrl('image/png', bundle.png)}
              alt={`QR code of the WireGuard tunnel of ${name}, for the WireGuard phone app`}
            />
            <ul class="downloads plain">
              <li>
                <Download file={bundle.names.p12} type="application/x-pkcs12" data={bundle.p12}>
                  {`Certificate ${bundle.names.p12}`}
                </Download>
              </li>
              <li>
                <Download file={bundle.names.conf} type="text/plain" data={bundle.conf}>
                  {`Tunnel ${bundle.names.conf}`}
                </Download>
              </li>
              <li>
                <Download file={bundle.names.ca} type="application/x-pem-file" data={bundle.ca} secondary>
                  {`CA ${bundle.names.ca}`}
                </Download>
              </li>
              <li>
                <Download file="README.txt" type="text/plain" data={bundle.guide} secondary>
                  Guide README.txt
                </Download>
              </li>
            </ul>
          </div>
        </section>
        <ApplyReminder />
      </>,
    );
  });

  return app;
}
