/**
 * @module Revocation: by serial or by an unambiguous name, with audit and a new CRL in one transaction.
 */
import { ConflictError, NotFoundError, UsageError } from '../lib/errors.js';
import { appendAudit } from '../store/audit.js';
import type { Database } from '../store/database.js';
import {
  type CertificateRecord,
  certificatesNamed,
  getCertificate,
  markRevoked,
} from './certificate-store.js';
import { type CrlState, regenerateCrl } from './crl-store.js';
import type { RevocationReason } from './rules.js';
import { normaliseSerial } from './serial.js';

export interface RevokeResult {
  certificate: CertificateRecord;
  crl: CrlState;
}

/**
 * Revokes the certificate `target` names (a serial in any case, with or without colons, or an exact CN
 * matching exactly one valid certificate), records it in the audit trail and issues a new CRL, all in
 * one transaction: if the CRL cannot be written, nothing changes.
 * @throws NotFoundError for an unknown target; ConflictError when it is already revoked or the name is
 *   ambiguous (the message lists the candidate serials); UsageError for the CA itself.
 * @example revokeCertificate(db, dataDir, 'alice', 'keyCompromise', actor, { crlDays: 7 });
 */
export function revokeCertificate(
  db: Database,
  dataDir: string,
  target: string,
  reason: RevocationReason,
  actor: string,
  options: { crlDays: number; now?: number },
): RevokeResult {
  const now = options.now ?? Date.now();
  return db
    .transaction(() => {
      const cert = resolveTarget(db, target, now);
      if (cert.kind === 'ca') {
        throw new UsageError(`${cert.serial} is the CA itself; replace it with 'mailgate ca init --force'`);
      }
      if (cert.status === 'revoked' || !markRevoked(db, cert.serial, now, reason)) {
        throw new ConflictError(
          `certificate ${cert.serial} (${cert.name}) is already revoked (${cert.revocationReason ?? 'unspecified'}, ${new Date(cert.revokedAt ?? now).toISOString()}); nothing changed`,
        );
      }
      appendAudit(db, {
        at: now,
        actor,
        action: 'ca.revoke',
        target: cert.serial,
        detail: { kind: cert.kind, name: cert.name, reason },
      });
      const crl = regenerateCrl(db, dataDir, { crlDays: options.crlDays, now });
      return { certificate: getCertificate(db, cert.serial, now)!, crl };
    })
    .immediate();
}

function resolveTarget(db: Database, target: string, now: number): CertificateRecord {
  const serial = normaliseSerial(target);
  const bySerial = serial === undefined ? undefined : getCertificate(db, serial, now);
  if (bySerial) return bySerial;
  const named = certificatesNamed(db, target, now);
  const valid = named.filter((cert) => cert.status === 'valid');
  if (valid.length === 1) return valid[0]!;
  if (valid.length > 1) {
    throw new ConflictError(
      `'${target}' names ${valid.length} valid certificates (${valid.map((c) => c.serial).join(', ')}); revoke one by serial`,
    );
  }
  const revoked = named.find((cert) => cert.status === 'revoked');
  if (revoked) return revoked; // reported as already revoked by the caller
  if (named.length > 0) {
    throw new NotFoundError(
      `'${target}' has only expired certificates (${named.map((c) => c.serial).join(', ')}); revoke one by serial if needed`,
    );
  }
  throw new NotFoundError(`no certificate with serial or name '${target}'`);
}
