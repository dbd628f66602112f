/**
 * @module `tls: auto`: a server certificate from mailgate's own CA, issued once and reused while it fits.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { stageFiles } from '../lib/staged-files.js';
import type { Database } from '../store/database.js';
import { caExists, caPaths, ensurePrivateDir } from './ca-files.js';
import { CA_KEY_BITS, createCa } from './ca-init.js';
import { getCertificate } from './certificate-store.js';
import { normaliseIps, normaliseNames, signServerCertificate } from './issue-server.js';
import { generateRsaKey } from './keys.js';
import { loadCa } from './load-ca.js';
import { DAY_MS, DEFAULT_CA_CN, DEFAULT_CA_DAYS, DEFAULT_SERVER_DAYS } from './rules.js';

/** Reissue when fewer days than this remain, so a long-running gateway never serves an expired certificate. */
export const RENEW_BEFORE_DAYS = 30;

export interface EnsureServerCertificateOptions {
  /** DNS names the certificate must cover (e.g. the publicUrl host and localhost). */
  hosts: string[];
  ips: string[];
  days?: number;
  /** Validity of the first CRL when the CA has to be created (config ca.crlDays). */
  crlDays: number;
  actor?: string;
  now?: number;
}

/**
 * Returns tls/server.{crt,key}.pem, first creating the CA ("mailgate CA") when missing and issuing the
 * certificate when absent, not from the current CA, revoked, short of a requested name, or within
 * RENEW_BEFORE_DAYS of expiry. Keys are generated off the event loop before taking the database's write
 * lock; the decision is re-checked under the lock, so two processes starting together issue once.
 * @throws UsageError for invalid host names or IPs.
 * @example await ensureServerCertificate(db, dataDir, { hosts: ['localhost'], ips: ['127.0.0.1'], crlDays: 7 })
 */
export async function ensureServerCertificate(
  db: Database,
  dataDir: string,
  options: EnsureServerCertificateOptions,
): Promise<{ certPath: string; keyPath: string }> {
  const paths = caPaths(dataDir);
  const result = { certPath: paths.serverCert, keyPath: paths.serverKey };
  const dns = normaliseNames(options.hosts);
  const ips = normaliseIps(options.ips);
  const now = options.now ?? Date.now();
  if (fits(db, dataDir, dns, ips, now)) return result;
  const caKey = caExists(dataDir) ? undefined : await generateRsaKey(CA_KEY_BITS);
  const serverKey = await generateRsaKey(2048);
  const actor = options.actor ?? 'gateway';
  let staged: ReturnType<typeof stageFiles> | undefined;
  try {
    db.transaction(() => {
      if (caKey && !caExists(dataDir)) {
        createCa(db, dataDir, caKey, {
          commonName: DEFAULT_CA_CN,
          days: DEFAULT_CA_DAYS,
          force: false,
          actor,
          crlDays: options.crlDays,
          now,
        });
      }
      if (fits(db, dataDir, dns, ips, now)) return;
      const issued = signServerCertificate(db, loadCa(dataDir), serverKey, {
        dns,
        ips,
        days: options.days ?? DEFAULT_SERVER_DAYS,
        actor,
        now,
      });
      ensurePrivateDir(paths.tlsDir);
      staged = stageFiles(
        [
          { path: paths.serverKey, data: issued.keyPem, mode: 0o600 },
          { path: paths.serverCert, data: issued.chainPem, mode: 0o644 },
        ],
        { overwrite: true },
      );
      staged.publish();
    }).immediate();
  } catch (error) {
    staged?.discard();
    throw error;
  }
  return result;
}

/** True when the files exist, match, chain to the current CA, are not revoked and cover every name. */
function fits(db: Database, dataDir: string, dns: string[], ips: string[], now: number): boolean {
  const paths = caPaths(dataDir);
  let cert: X509Certificate;
  try {
    if (!caExists(dataDir)) return false;
    const ca = new X509Certificate(readFileSync(paths.cert));
    cert = new X509Certificate(readFileSync(paths.serverCert));
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(paths.serverKey)))) return false;
  } catch {
    return false; // missing or unreadable files: issue anew
  }
  if (Date.parse(cert.validTo) - now <= RENEW_BEFORE_DAYS * DAY_MS) return false;
  const record = getCertificate(db, cert.serialNumber.toLowerCase(), now);
  if (record?.status !== 'valid') return false;
  const sans = new Set(record.sans);
  return dns.every((d) => sans.has(`DNS:${d}`)) && ips.every((ip) => sans.has(`IP:${ip}`));
}
