/**
 * @module The admin-plane decision (docs/security.md rule 3) as a pure function of certificate facts, peer
 * address, route roles, SNI/Host, the revoked set and the time.
 */

import { CLIENT_ROLES, type ClientRole } from '../certs/rules.js';
import type { AddressSet } from '../lib/cidr.js';

/** The roles a client certificate carries: the CA's list (certs/rules.ts), declared once. */
export type AdminRole = ClientRole;
export const ADMIN_ROLES: readonly AdminRole[] = CLIENT_ROLES;

/** What the TLS layer tells about the peer certificate, parsed once per connection. */
export interface PeerCertificateFacts {
  /** A certificate was presented. */
  present: boolean;
  /** It chains to the mailgate CA (socket.authorized). */
  authorized: boolean;
  authorizationError?: string | undefined;
  /** Lower-case hex, no colons. */
  serial: string;
  commonName: string;
  fingerprint256: string;
  notBefore: number;
  notAfter: number;
  clientAuth: boolean;
  /** From the `urn:mailgate:role:<role>` URI SAN. */
  role: AdminRole | undefined;
}

export type AdminDenyReason =
  | 'sni_mismatch'
  | 'source_not_allowed'
  | 'no_certificate'
  | 'untrusted_certificate'
  | 'certificate_expired'
  | 'certificate_not_yet_valid'
  | 'certificate_revoked'
  | 'no_client_auth'
  | 'role_not_allowed'
  | 'certificate_unknown'
  | 'role_mismatch';

export interface AdminPolicyInput {
  cert: PeerCertificateFacts;
  /** The socket's peer (or the client behind a trusted proxy), never a header otherwise. */
  clientAddress: string;
  sourceCidrs: AddressSet;
  allowedRoles: readonly AdminRole[];
  /** TLS SNI, when the client sent one. */
  servername: string | undefined;
  /** Normalised Host / :authority. */
  host: string;
  revoked: ReadonlySet<string>;
  /** The role the store holds for the certificate's serial (what `ca list` shows); undefined = not issued here. */
  storedRole: AdminRole | undefined;
  now: number;
}

export type AdminDecision =
  | { allowed: true; role: AdminRole }
  | { allowed: false; status: 403 | 421; reason: AdminDenyReason };

/** One answer per role, shared: the policy runs on every admin-plane request. */
const ALLOWED = Object.fromEntries(
  ADMIN_ROLES.map((role) => [role, Object.freeze({ allowed: true, role } as const)]),
) as Record<AdminRole, AdminDecision>;

const deny = (reason: AdminDenyReason, status: 403 | 421 = 403): AdminDecision => ({
  allowed: false,
  status,
  reason,
});

/**
 * Allows only a valid, unrevoked mailgate client certificate with clientAuth and an allowed role, from
 * an address inside the admin source ranges, with SNI (when sent) equal to Host. The certificate's role
 * must be the one the store recorded at issuance for its serial, so the gateway decides on the facts
 * `ca list`, the API and the audit trail show.
 * @example decideAdminAccess({ cert, clientAddress: '10.8.0.2', sourceCidrs, allowedRoles: ['admin'], servername: 'mail.example.com', host: 'mail.example.com', revoked, now: Date.now() })
 */
export function decideAdminAccess(input: AdminPolicyInput): AdminDecision {
  const { cert } = input;
  // RFC 9110 §15.5.20: a request for another name than the TLS session was set up for is misdirected.
  if (input.servername && input.servername.toLowerCase() !== input.host) return deny('sni_mismatch', 421);
  if (!input.sourceCidrs.has(input.clientAddress)) return deny('source_not_allowed');
  if (!cert.present) return deny('no_certificate');
  // Expiry is checked here too: keep-alive connections outlive certificates.
  if (input.now < cert.notBefore) return deny('certificate_not_yet_valid');
  if (input.now > cert.notAfter) return deny('certificate_expired');
  if (!cert.authorized)
    return deny(cert.authorizationError === 'CERT_REVOKED' ? 'certificate_revoked' : 'untrusted_certificate');
  if (input.revoked.has(cert.serial)) return deny('certificate_revoked');
  if (!cert.clientAuth) return deny('no_client_auth');
  if (!cert.role) return deny('role_not_allowed');
  // Issue 12: the role the certificate states must be the one issued (a crafted SAN cannot raise it).
  if (input.storedRole === undefined) return deny('certificate_unknown');
  if (cert.role !== input.storedRole) return deny('role_mismatch');
  if (!input.allowedRoles.includes(cert.role)) return deny('role_not_allowed');
  return ALLOWED[cert.role];
}
