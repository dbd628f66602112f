/**
 * @module Certificates: list with search and status filter (viewer), issue a client certificate with a
 * one-time PKCS#12 password (admin), revoke after a confirmation page (operator).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { type CertificateRecord, getCertificate, listCertificates } from '../../certs/certificate-store.js';
import { CLIENT_ROLES, type ClientRole, type REVOCATION_REASONS } from '../../certs/rules.js';
import { normaliseSerial } from '../../certs/serial.js';
import type { AdminEnv } from '../admin-env.js';
import { ApiError } from '../api/api-error.js';
import { apiActor, auditCalls } from '../api/call-audit.js';
import {
  certificateIssueBody,
  certificateRevokeBody,
  issueCertificateFor,
  revokeCertificateCall,
} from '../api/certificates.js';
import { formBody, validated, validQuery } from '../api/request-input.js';
import { requireRole, roleAtLeast } from '../api/roles.js';
import { generatePassword } from '../onboard-password.js';
import { type ConsoleOptions, renderPage, viewerOf } from './app.js';
import { optionalFields } from './form-fields.js';
import {
  Badge,
  consoleUrl,
  Download,
  Field,
  FilterForm,
  InputField,
  Notice,
  RoleNote,
  SelectField,
  TableBox,
  Time,
} from './layout.js';

const STATUSES = ['valid', 'revoked', 'expired'] as const;

const listQuery = z.strictObject({
  q: z.string().max(200).optional(),
  status: z.enum(['', ...STATUSES]).optional(),
  /** Set by the redirect after a revocation, to say what was done. */
  revoked: z.string().max(64).optional(),
});

const REASON_LABELS: Record<keyof typeof REVOCATION_REASONS, string> = {
  unspecified: 'Unspecified',
  keyCompromise: 'Key compromise (lost or stolen device)',
  affiliationChanged: 'Affiliation changed (left the team)',
  superseded: 'Superseded (replaced by a new certificate)',
  cessationOfOperation: 'No longer needed',
};

/** Whether a certificate matches the search text (name, serial, e-mail, role). */
export function matchesSearch(cert: CertificateRecord, query: string): boolean {
  const needle = query.trim().toLowerCase();
  if (needle === '') return true;
  return [cert.name, cert.serial, cert.email ?? '', cert.role ?? '', cert.kind].some((value) =>
    value.toLowerCase().includes(needle),
  );
}

/**
 * The fields a client certificate is issued from, here and in onboarding: name, role, e-mail and days
 * (bounded by ca.maxDays), their ids starting with `idPrefix`.
 */
export function CertificateFields({
  idPrefix,
  nameHint,
  defaultRole,
  maxDays,
  defaultDays,
}: {
  idPrefix: string;
  nameHint: string;
  defaultRole: ClientRole;
  maxDays: number;
  defaultDays: number;
}) {
  return (
    <>
      <InputField label="Name" id={`${idPrefix}-name`} hint={nameHint} name="name" required />
      <SelectField
        label="Role"
        id={`${idPrefix}-role`}
        name="role"
        options={CLIENT_ROLES}
        selected={defaultRole}
      />
      <InputField label="E-mail (optional)" id={`${idPrefix}-email`} name="email" type="email" />
      <InputField
        label="Valid for (days)"
        id={`${idPrefix}-days`}
        hint={`At most ${maxDays}`}
        name="days"
        type="number"
        min="1"
        max={maxDays}
        value={String(defaultDays)}
      />
    </>
  );
}

function IssueForm({ maxDays, defaultDays }: { maxDays: number; defaultDays: number }) {
  return (
    <form method="post" action={consoleUrl('/certificates')} class="card form">
      <h2>Issue a client certificate</h2>
      <div class="grid">
        <CertificateFields
          idPrefix="cert"
          defaultRole="viewer"
          nameHint="Letters, digits, dot, dash, underscore, @"
          maxDays={maxDays}
          defaultDays={defaultDays}
        />
      </div>
      <button type="submit">Issue certificate</button>
    </form>
  );
}

/** The routes under `/certificates`. */
export function certificateRoutes(options: ConsoleOptions): Hono<AdminEnv> {
  const { db, config } = options;
  const audited = auditCalls(db);
  const app = new Hono<AdminEnv>();

  app.get('/', validQuery(listQuery), (c) => {
    const { q = '', status = '', revoked } = c.req.valid('query');
    const now = Date.now();
    const all = listCertificates(db, { now });
    const shown = all.filter((cert) => (status === '' || cert.status === status) && matchesSearch(cert, q));
    const role = viewerOf(c)?.role;
    const revokedNow = revoked === undefined ? undefined : all.find((cert) => cert.serial === revoked);
    return renderPage(
      c,
      { title: 'Certificates', page: 'certificates' },
      <>
        {revokedNow?.status === 'revoked' && (
          <Notice kind="ok">
            {`Certificate ${revokedNow.name} (${revokedNow.serial}) is revoked: new requests with it are refused now. ` +
              'Requests on connections it already opened are refused too, and recorded in the audit as admin.access denied.'}
          </Notice>
        )}
        <FilterForm action={consoleUrl('/certificates')}>
          <Field label="Search" id="cert-q">
            <input id="cert-q" name="q" type="search" value={q} placeholder="name, serial, e-mail, role" />
          </Field>
          <SelectField
            label="Status"
            id="cert-status"
            name="status"
            options={STATUSES}
            selected={status}
            anyOption
          />
        </FilterForm>
        <p class="muted">{`${shown.length} of ${all.length} certificates`}</p>
        <TableBox
          label="Certificates"
          columns={['Name', 'Kind', 'Role', 'Status', 'Expires', 'Serial']}
          actions
        >
          {shown.map((cert) => (
            <tr>
              <td>
                {cert.name}
                {cert.email && <small class="muted block">{cert.email}</small>}
              </td>
              <td>{cert.kind}</td>
              <td>{cert.role ?? '—'}</td>
              <td>
                <Badge status={cert.status} />
                {cert.revocationReason && <small class="muted block">{cert.revocationReason}</small>}
              </td>
              <td>
                <Time ms={cert.notAfter} />
              </td>
              <td>
                <code class="serial">{cert.serial}</code>
              </td>
              <td>
                {cert.kind === 'client' && cert.status === 'valid' && roleAtLeast(role, 'operator') && (
                  <a class="button danger small" href={consoleUrl(`/certificates/${cert.serial}/revoke`)}>
                    {'Revoke'}
                    <span class="sr-only">{` ${cert.name}`}</span>
                  </a>
                )}
              </td>
            </tr>
          ))}
        </TableBox>
        {roleAtLeast(role, 'admin') ? (
          <IssueForm
            maxDays={config.ca.maxDays}
            defaultDays={Math.min(config.ca.clientDays, config.ca.maxDays)}
          />
        ) : (
          <RoleNote needs="admin" what="issue certificates" />
        )}
      </>,
    );
  });

  app.post('/', audited('console.certificates.issue'), requireRole('admin'), formBody(), async (c) => {
    const form = c.req.valid('form');
    const password = generatePassword();
    const body = validated(
      certificateIssueBody(config.ca),
      {
        ...optionalFields(form, ['name', 'role', 'email']),
        ...optionalFields(form, ['days'], Number),
        p12Password: password,
      },
      'body',
    );
    const issued = await issueCertificateFor(options, body, apiActor(c));
    c.get('adminApiCall').target = issued.serial;
    return renderPage(
      c,
      { title: 'Certificate issued', page: 'certificates', status: 201 },
      <>
        <Notice kind="ok">{`Issued ${issued.name} (${issued.role}), serial ${issued.serial}.`}</Notice>
        <section class="card secret" aria-labelledby="secret-heading">
          <h2 id="secret-heading">PKCS#12 password: shown only now</h2>
          <p>Give it to {issued.name} by another channel than the file.</p>
          <p class="secret-value">
            <output id="p12-password">{password}</output>{' '}
            <button type="button" class="secondary small" data-copy="p12-password">
              Copy
            </button>
          </p>
          <p class="downloads">
            <Download file={`${issued.name}.p12`} type="application/x-pkcs12" data={issued.p12!}>
              Download {issued.name}.p12
            </Download>{' '}
            <Download
              file={`${issued.name}.crt.pem`}
              type="application/x-pem-file"
              data={issued.certPem}
              secondary
            >
              Certificate (PEM)
            </Download>{' '}
            <Download file="mailgate-ca.pem" type="application/x-pem-file" data={issued.caCertPem} secondary>
              CA certificate
            </Download>
          </p>
          <p class="muted">Nothing here is stored: leaving this page loses the file and the password.</p>
        </section>
        <p>
          <a href={consoleUrl('/certificates')}>Back to the certificates</a>
        </p>
      </>,
    );
  });

  app.get('/:serial/revoke', requireRole('operator'), (c) => {
    const text = c.req.param('serial');
    const serial = normaliseSerial(text);
    const cert = serial === undefined ? undefined : getCertificate(db, serial);
    if (!cert) throw new ApiError('not_found', `no certificate with serial '${text}'`);
    return renderPage(
      c,
      { title: `Revoke ${cert.name}?`, page: 'certificates' },
      <form method="post" action={consoleUrl(`/certificates/${cert.serial}/revoke`)} class="card form">
        <dl class="facts">
          <dt>Name</dt>
          <dd>{cert.name}</dd>
          <dt>Role</dt>
          <dd>{cert.role ?? '—'}</dd>
          <dt>Serial</dt>
          <dd>
            <code class="serial">{cert.serial}</code>
          </dd>
          <dt>Expires</dt>
          <dd>
            <Time ms={cert.notAfter} />
          </dd>
        </dl>
        <Notice kind="warn">
          Revoking cannot be undone. Every request with this certificate is refused from now on, on open
          connections too; its holder needs a new certificate.
        </Notice>
        <Field label="Reason" id="revoke-reason">
          <select id="revoke-reason" name="reason">
            {Object.entries(REASON_LABELS).map(([value, label]) => (
              <option value={value}>{label}</option>
            ))}
          </select>
        </Field>
        <div class="actions">
          <button type="submit" class="danger">
            Revoke certificate
          </button>
          <a class="button secondary" href={consoleUrl('/certificates')}>
            Cancel
          </a>
        </div>
      </form>,
    );
  });

  app.post(
    '/:serial/revoke',
    audited('console.certificates.revoke'),
    requireRole('operator'),
    formBody(),
    (c) => {
      const { reason = 'unspecified' } = validated(
        certificateRevokeBody,
        optionalFields(c.req.valid('form'), ['reason']),
        'body',
      );
      const { certificate } = revokeCertificateCall(c, options, c.req.param('serial'), reason);
      // See other (RFC 9110 §15.4.4): a reload shows the list instead of posting the revocation again.
      return c.redirect(consoleUrl(`/certificates?revoked=${certificate.serial}`), 303);
    },
  );

  return app;
}
