/**
 * @module Admin API status endpoint (viewer): CA and server-certificate expiry, CRL nextUpdate, certificate
 * counts, and upstream health as the running gateway reports it.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { caExists, caPaths } from '../../certs/ca-files.js';
import { listCertificates } from '../../certs/certificate-store.js';
import { ensureFreshCrl } from '../../certs/crl-store.js';
import { DAY_MS } from '../../certs/rules.js';
import type { AdminEnv } from '../admin-env.js';
import { auditCalls } from './call-audit.js';
import type { AdminApiOptions } from './options.js';
import { requireRole } from './roles.js';

/** One upstream's health; `reachable` is null while the gateway has not probed it (no health checks yet). */
export interface UpstreamHealth {
  name: string;
  reachable: boolean | null;
}

/**
 * What only the running gateway knows; everything else /status computes from the data dir and store.
 * The minimal form lists the configured upstream names with `reachable: null`.
 */
export interface AdminStatus {
  upstreams: readonly UpstreamHealth[];
}

/** Client certificates expiring within this many days are counted as `expiringSoon`. */
const EXPIRING_SOON_DAYS = 30;

/** The facts of the certificate (first in the file) at `path`, or null when it is missing or unreadable. */
function certificateExpiry(path: string, now: number) {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(path));
  } catch {
    return null;
  }
  const notAfter = Date.parse(cert.validTo);
  return {
    serial: cert.serialNumber.toLowerCase(),
    subject: cert.subject,
    notAfter: new Date(notAfter).toISOString(),
    daysLeft: Math.floor((notAfter - now) / DAY_MS),
  };
}

/** Builds the status document. */
export function collectStatus({ db, dataDir, config, status }: AdminApiOptions, now = Date.now()) {
  const paths = caPaths(dataDir);
  const hasCa = caExists(dataDir);
  // ensureFreshCrl regenerates a CRL past half its life, as the gateway's hourly check does: a status
  // read never reports a CRL that clients would refuse.
  const crl = hasCa ? ensureFreshCrl(db, dataDir, { crlDays: config.ca.crlDays, now }) : undefined;
  const clients = listCertificates(db, { now }).filter((cert) => cert.kind === 'client');
  const expiringSoon = listCertificates(db, { now, expiringWithinDays: EXPIRING_SOON_DAYS });
  const server = certificateExpiry(config.tls.cert === 'auto' ? paths.serverCert : config.tls.cert, now);
  return {
    time: new Date(now).toISOString(),
    ca: hasCa ? certificateExpiry(paths.cert, now) : null,
    serverCertificate: server && { source: config.tls.cert === 'auto' ? 'auto' : 'file', ...server },
    crl: crl ? { number: crl.number, nextUpdate: new Date(crl.nextUpdate).toISOString() } : null,
    clientCertificates: {
      valid: clients.filter((cert) => cert.status === 'valid').length,
      revoked: clients.filter((cert) => cert.status === 'revoked').length,
      expired: clients.filter((cert) => cert.status === 'expired').length,
      expiringSoon: expiringSoon.filter((cert) => cert.kind === 'client').length,
    },
    upstreams: status().upstreams,
  };
}

/** The route `/status`. */
export function statusRoutes(options: AdminApiOptions): Hono<AdminEnv> {
  const audited = auditCalls(options.db);
  const app = new Hono<AdminEnv>();
  app.get('/', audited('api.status'), requireRole('viewer'), (c) => c.json(collectStatus(options)));
  return app;
}
