/**
 * @module Issuing client certificates for the admin plane (role in a URI SAN, clientAuth only).
 */
import { UsageError } from '../lib/errors.js';
import type { Database } from '../store/database.js';
import { buildCertificate, certificateFacts, clientExtensions, validityWindow } from './build-certificate.js';
import { insertCertificate } from './certificate-store.js';
import { deliver } from './deliver.js';
import { generateRsaKey } from './keys.js';
import { loadCa } from './load-ca.js';
import { buildPkcs12, type Pkcs12Algorithm } from './pkcs12.js';
import {
  CLOCK_SKEW_MS,
  type ClientRole,
  checkClientName,
  checkEmail,
  checkRole,
  ROLE_URI_PREFIX,
} from './rules.js';
import { randomSerialHex } from './serial.js';

export interface IssueClientOptions {
  /** Subject CN; also the file name stem, see checkClientName. */
  name: string;
  role: ClientRole;
  email?: string | undefined;
  /** Validity in days; the caller enforces its configured maximum. */
  days: number;
  /** Also build a PKCS#12 bundle. The password is used here and never stored or logged. */
  p12?: { password: string; algorithm: Pkcs12Algorithm } | undefined;
  /** Who asked, for the audit trail. */
  actor: string;
  now?: number;
  /**
   * Delivers the result (the CLI writes its files here). It runs after the record is committed, so a
   * certificate never exists outside the inventory, where it could not be revoked; if it throws, the
   * record and its audit entry are withdrawn (see withdrawCertificate) and the error is rethrown.
   */
  publish?: (issued: IssuedClientCertificate) => void;
}

export interface IssuedClientCertificate {
  serial: string;
  name: string;
  role: ClientRole;
  email: string | null;
  notBefore: number;
  notAfter: number;
  fingerprint256: string;
  certPem: string;
  /** PKCS#8 PEM of the new private key. */
  keyPem: string;
  caCertPem: string;
  p12?: Buffer;
}

/**
 * Issues a client certificate: RSA-2048 generated off the event loop, random 128-bit serial, CN=name,
 * SAN URI urn:mailgate:role:ROLE (and email), EKU clientAuth, KU digitalSignature. Writes no files.
 * @throws UsageError for a bad name, role, email or days; CaMissingError without a CA.
 * @example const issued = await issueClientCertificate(db, dataDir, { name: 'alice', role: 'admin', days: 90, actor });
 */
export async function issueClientCertificate(
  db: Database,
  dataDir: string,
  options: IssueClientOptions,
): Promise<IssuedClientCertificate> {
  const name = checkClientName(options.name);
  const role = checkRole(options.role);
  const email = options.email === undefined ? undefined : checkEmail(options.email);
  if (!Number.isInteger(options.days) || options.days < 1) {
    throw new UsageError(`--days must be a whole number of days from 1, got ${options.days}`);
  }
  const ca = loadCa(dataDir);
  const key = await generateRsaKey(2048);
  const now = options.now ?? Date.now();
  const serial = randomSerialHex();
  const roleUri = `${ROLE_URI_PREFIX}${role}`;
  const cert = buildCertificate({
    serialHex: serial,
    commonName: name,
    publicKey: key.publicKey,
    ...validityWindow(now, options.days, CLOCK_SKEW_MS),
    extensions: clientExtensions(roleUri, email),
    issuer: ca,
  });
  const facts = certificateFacts(cert);
  const issued: IssuedClientCertificate = {
    serial,
    name,
    role,
    email: email ?? null,
    notBefore: facts.notBefore,
    notAfter: facts.notAfter,
    fingerprint256: facts.fingerprint256,
    certPem: facts.pem,
    keyPem: key.pem,
    caCertPem: ca.certPem,
  };
  if (options.p12) {
    issued.p12 = buildPkcs12({
      key: key.privateKey,
      cert,
      caCert: ca.cert,
      friendlyName: name,
      ...options.p12,
    });
  }
  db.transaction(() => {
    insertCertificate(
      db,
      {
        serial,
        kind: 'client',
        name,
        role,
        email,
        sans: [...(email ? [`email:${email}`] : []), `URI:${roleUri}`],
        ...facts,
        certPem: facts.pem,
        createdAt: now,
      },
      {
        actor: options.actor,
        action: 'ca.issue',
        detail: { kind: 'client', name, role, email, notAfter: facts.notAfter, p12: options.p12?.algorithm },
      },
    );
  }).immediate();
  deliver(db, issued, options.publish);
  return issued;
}
