/**
 * @module The certificate inventory in SQLite: domain verbs only, no policy.
 */
import { appendAudit } from '../store/audit.js';
import type { Database } from '../store/database.js';
import type { CrlEntry } from './crl-encode.js';
import type { ClientRole, RevocationReason } from './rules.js';

export type CertificateKind = 'ca' | 'client' | 'server';
export type CertificateStatus = 'valid' | 'revoked' | 'expired';

export interface NewCertificate {
  serial: string;
  kind: CertificateKind;
  name: string;
  role?: string | undefined;
  email?: string | undefined;
  /** "DNS:x", "IP:x", "email:x", "URI:x". */
  sans: string[];
  notBefore: number;
  notAfter: number;
  fingerprint256: string;
  certPem: string;
  createdAt: number;
}

export interface CertificateRecord {
  serial: string;
  kind: CertificateKind;
  name: string;
  role: string | null;
  email: string | null;
  sans: string[];
  notBefore: number;
  notAfter: number;
  fingerprint256: string;
  status: CertificateStatus;
  revokedAt: number | null;
  revocationReason: RevocationReason | null;
}

export interface ListFilter {
  /** Only revoked certificates. */
  revoked?: boolean;
  /** Only valid certificates whose notAfter falls within this many days from now. */
  expiringWithinDays?: number;
  /** Clock for status and the expiry window; defaults to Date.now(). */
  now?: number;
}

interface Row {
  serial: string;
  kind: CertificateKind;
  name: string;
  role: string | null;
  email: string | null;
  sans: string;
  not_before: number;
  not_after: number;
  fingerprint256: string;
  revoked_at: number | null;
  revocation_reason: RevocationReason | null;
}

const COLUMNS =
  'serial, kind, name, role, email, sans, not_before, not_after, fingerprint256, revoked_at, revocation_reason';

/** What the audit trail says about a new certificate; its time is `createdAt`, its target the serial. */
export interface IssuanceAudit {
  actor: string;
  action: string;
  detail: Record<string, unknown>;
}

/**
 * Adds a certificate together with its audit record; call inside the operation's transaction so both
 * land or neither does.
 */
export function insertCertificate(db: Database, cert: NewCertificate, audit: IssuanceAudit): void {
  db.prepare(
    `INSERT INTO certificates (serial, kind, name, role, email, sans, not_before, not_after, fingerprint256,
       cert_pem, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    cert.serial,
    cert.kind,
    cert.name,
    cert.role ?? null,
    cert.email ?? null,
    JSON.stringify(cert.sans),
    cert.notBefore,
    cert.notAfter,
    cert.fingerprint256,
    cert.certPem,
    cert.createdAt,
  );
  appendAudit(db, { at: cert.createdAt, target: cert.serial, ...audit });
}

/**
 * The inventory, newest first, with a status computed against `now`.
 * @example listCertificates(db, { expiringWithinDays: 30 })
 */
export function listCertificates(db: Database, filter: ListFilter = {}): CertificateRecord[] {
  const now = filter.now ?? Date.now();
  let where = '';
  const params: number[] = [];
  if (filter.revoked) where = 'WHERE revoked_at IS NOT NULL';
  if (filter.expiringWithinDays !== undefined) {
    where = `${where ? `${where} AND` : 'WHERE'} revoked_at IS NULL AND not_after > ? AND not_after <= ?`;
    params.push(now, now + filter.expiringWithinDays * 86_400_000);
  }
  const rows = db
    .prepare(`SELECT ${COLUMNS} FROM certificates ${where} ORDER BY created_at DESC, serial`)
    .all(...params) as Row[];
  return rows.map((row) => toRecord(row, now));
}

/** One certificate by its lower-case hex serial, or undefined. */
export function getCertificate(
  db: Database,
  serial: string,
  now = Date.now(),
): CertificateRecord | undefined {
  const row = db.prepare(`SELECT ${COLUMNS} FROM certificates WHERE serial = ?`).get(serial) as
    | Row
    | undefined;
  return row && toRecord(row, now);
}

/** Every certificate whose subject CN is exactly `name`. */
export function certificatesNamed(db: Database, name: string, now = Date.now()): CertificateRecord[] {
  const rows = db
    .prepare(`SELECT ${COLUMNS} FROM certificates WHERE name = ? ORDER BY created_at`)
    .all(name) as Row[];
  return rows.map((row) => toRecord(row, now));
}

/** Marks a certificate revoked; returns false when it was not found or already revoked. */
export function markRevoked(db: Database, serial: string, at: number, reason: RevocationReason): boolean {
  return (
    db
      .prepare(
        'UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE serial = ? AND revoked_at IS NULL',
      )
      .run(at, reason, serial).changes === 1
  );
}

/** The CRL entries: every revoked certificate. */
export function revokedEntries(db: Database): CrlEntry[] {
  return (
    db
      .prepare(
        'SELECT serial, revoked_at, revocation_reason FROM certificates WHERE revoked_at IS NOT NULL ORDER BY revoked_at',
      )
      .all() as Array<{ serial: string; revoked_at: number; revocation_reason: RevocationReason | null }>
  ).map((row) => ({
    serialHex: row.serial,
    revokedAt: row.revoked_at,
    reason: row.revocation_reason ?? 'unspecified',
  }));
}

/** The serials (lower-case hex) of every revoked certificate, for the gateway's per-request check. */
export function revokedSerials(db: Database): Set<string> {
  const rows = db.prepare('SELECT serial FROM certificates WHERE revoked_at IS NOT NULL').pluck().all();
  return new Set(rows as string[]);
}

/** Serial -> role of every client certificate, for the gateway's check that a certificate says what the store does. */
export function clientRoles(db: Database): Map<string, ClientRole> {
  const rows = db.prepare("SELECT serial, role FROM certificates WHERE kind = 'client'").all() as Array<{
    serial: string;
    role: ClientRole;
  }>;
  return new Map(rows.map((row) => [row.serial, row.role]));
}

/**
 * Undoes an issuance whose files could not be delivered: removes the row and its 'ca.issue' audit entry
 * in one transaction. Only for a certificate that was never released to anyone.
 */
export function withdrawCertificate(db: Database, serial: string): void {
  db.transaction(() => {
    db.prepare('DELETE FROM certificates WHERE serial = ?').run(serial);
    db.prepare("DELETE FROM audit WHERE action = 'ca.issue' AND target = ?").run(serial);
  })();
}

/** Removes every certificate (used when the CA is replaced: nothing it issued still verifies). */
export function deleteAllCertificates(db: Database): number {
  return db.prepare('DELETE FROM certificates').run().changes;
}

function toRecord(row: Row, now: number): CertificateRecord {
  return {
    serial: row.serial,
    kind: row.kind,
    name: row.name,
    role: row.role,
    email: row.email,
    sans: JSON.parse(row.sans) as string[],
    notBefore: row.not_before,
    notAfter: row.not_after,
    fingerprint256: row.fingerprint256,
    status: row.revoked_at !== null ? 'revoked' : row.not_after <= now ? 'expired' : 'valid',
    revokedAt: row.revoked_at,
    revocationReason: row.revocation_reason,
  };
}
