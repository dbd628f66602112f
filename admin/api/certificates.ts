/**
 * @module Admin API certificate endpoints: list (viewer), issue (admin), revoke (operator).
 */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { type CertificateRecord, getCertificate, listCertificates } from '../../certs/certificate-store.js';
import { issueClientCertificate } from '../../certs/issue-client.js';
import { checkPkcs12Password, PKCS12_ALGORITHMS } from '../../certs/pkcs12.js';
import { revokeCertificate } from '../../certs/revoke.js';
import {
  CLIENT_ROLES,
  checkClientName,
  checkEmail,
  REVOCATION_REASONS,
  type RevocationReason,
} from '../../certs/rules.js';
import { normaliseSerial } from '../../certs/serial.js';
import type { AdminEnv } from '../admin-env.js';
import { ApiError } from './api-error.js';
import { apiActor, auditCalls, auditedChange } from './call-audit.js';
import type { AdminApiOptions, AdminConfig } from './options.js';
import { jsonBody, satisfies, validQuery } from './request-input.js';
import { requireRole } from './roles.js';

const listQuery = z.strictObject({
  revoked: z.enum(['true', 'false']).optional(),
  /** Only valid certificates expiring within this many days. */
  expiring: z
    .string()
    .regex(/^\d{1,5}$/, 'must be a whole number of days')
    .transform(Number)
    .optional(),
});

/** The issue body; `days` is bounded by the configured maximum, as on the command line. */
export function certificateIssueBody(ca: AdminConfig['ca']) {
  const daysProblem = `must be a whole number of days from 1 to ${ca.maxDays}`;
  return z
    .strictObject({
      name: z.string().superRefine(satisfies((name: string) => checkClientName(name, 'name'))),
      role: z.enum(CLIENT_ROLES),
      email: z.string().superRefine(satisfies(checkEmail, 'email must be an e-mail address')).optional(),
      days: z
        .int(daysProblem)
        .min(1, daysProblem)
        .max(ca.maxDays, daysProblem)
        .default(Math.min(ca.clientDays, ca.maxDays)),
      p12Password: z
        .string()
        .superRefine(satisfies(checkPkcs12Password, 'p12Password must be 1-1024 printable ASCII characters'))
        .optional(),
      /** '3des' by default: macOS, older Windows and Android refuse AES-encrypted PKCS#12. */
      p12Algorithm: z.enum(PKCS12_ALGORITHMS).optional(),
    })
    .refine((body) => body.p12Algorithm === undefined || body.p12Password !== undefined, {
      message: 'p12Algorithm needs p12Password',
      path: ['p12Algorithm'],
    });
}

export type CertificateIssueBody = z.output<ReturnType<typeof certificateIssueBody>>;

export const certificateRevokeBody = z.strictObject({
  reason: z.enum(Object.keys(REVOCATION_REASONS) as [RevocationReason, ...RevocationReason[]]).optional(),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A certificate as the API shows it (never its key). */
export function certificateJson(cert: CertificateRecord) {
  return {
    serial: cert.serial,
    kind: cert.kind,
    name: cert.name,
    role: cert.role,
    email: cert.email,
    sans: cert.sans,
    notBefore: iso(cert.notBefore),
    notAfter: iso(cert.notAfter),
    status: cert.status,
    revokedAt: iso(cert.revokedAt),
    revocationReason: cert.revocationReason,
    fingerprint256: cert.fingerprint256,
  };
}

/**
 * Issues a client certificate from a validated issue body (the API's and the console's), with a PKCS#12
 * when the body has a password.
 */
export function issueCertificateFor(
  { db, dataDir }: Pick<AdminApiOptions, 'db' | 'dataDir'>,
  body: CertificateIssueBody,
  actor: string,
) {
  return issueClientCertificate(db, dataDir, {
    name: body.name,
    role: body.role,
    email: body.email,
    days: body.days,
    p12:
      body.p12Password === undefined
        ? undefined
        : { password: body.p12Password, algorithm: body.p12Algorithm ?? '3des' },
    actor,
  });
}

/**
 * Revokes the certificate with serial `text` (never a name) for the current admin call, the change and
 * the call's audit record in one transaction.
 * @throws ApiError not_found for an unknown serial; the revocation's own errors (already revoked).
 */
export function revokeCertificateCall(
  c: Context<AdminEnv>,
  { db, dataDir, config }: Pick<AdminApiOptions, 'db' | 'dataDir' | 'config'>,
  text: string,
  reason: RevocationReason,
) {
  const serial = normaliseSerial(text);
  return auditedChange(c, db, 200, () => {
    // By serial only: revokeCertificate also accepts names, which this path must never match.
    if (serial === undefined || !getCertificate(db, serial)) {
      throw new ApiError('not_found', `no certificate with serial '${text}'`);
    }
    c.get('adminApiCall').target = serial;
    return revokeCertificate(db, dataDir, serial, reason, apiActor(c), { crlDays: config.ca.crlDays });
  });
}

/** The routes under `/certificates`. */
export function certificateRoutes(options: AdminApiOptions): Hono<AdminEnv> {
  const { db, config } = options;
  const audited = auditCalls(db);
  const app = new Hono<AdminEnv>();

  app.get('/', audited('api.certificates.list'), requireRole('viewer'), validQuery(listQuery), (c) => {
    const { revoked, expiring } = c.req.valid('query');
    const certificates = listCertificates(db, { revoked: revoked === 'true', expiringWithinDays: expiring });
    return c.json({ certificates: certificates.map(certificateJson) });
  });

  // issueClientCertificate commits its row and record itself (after async key generation); the call
  // record follows it.
  app.post(
    '/',
    audited('api.certificates.issue'),
    requireRole('admin'),
    jsonBody(certificateIssueBody(config.ca)),
    async (c) => {
      const issued = await issueCertificateFor(options, c.req.valid('json'), apiActor(c));
      c.get('adminApiCall').target = issued.serial;
      const { p12, ...pems } = issued;
      return c.json(
        {
          ...pems,
          notBefore: iso(issued.notBefore),
          notAfter: iso(issued.notAfter),
          ...(p12 && { p12: p12.toString('base64') }),
        },
        201,
      );
    },
  );

  app.post(
    '/:serial/revoke',
    audited('api.certificates.revoke'),
    requireRole('operator'),
    jsonBody(certificateRevokeBody, { optional: true }),
    (c) => {
      const reason = c.req.valid('json').reason ?? 'unspecified';
      const { certificate, crl } = revokeCertificateCall(c, options, c.req.param('serial'), reason);
      return c.json({ ...certificateJson(certificate), crlNumber: crl.number });
    },
  );

  return app;
}
