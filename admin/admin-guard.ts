/**
 * @module The admin-plane guard: socket facts in, the pure policy decides, identity headers and an audit
 * record out.
 */
import type { TLSSocket } from 'node:tls';
import type { AddressSet } from '../lib/cidr.js';
import type { AuditBuffer } from '../store/audit-buffer.js';
import { ADMIN_ROLES, type AdminRole, decideAdminAccess, type PeerCertificateFacts } from './admin-policy.js';
import type { AdminDenial } from './denial-audit.js';
import { peerCertificateFacts } from './peer-certificate.js';

/** What the guard reads of a request; the gateway's GuardInput satisfies it (admin/ names nothing of gateway/). */
export interface AdminGuardInput {
  req: { socket: object; method?: string | undefined };
  /** The matched `auth: admin` route; undefined for the reserved admin paths. */
  route: { roles?: readonly AdminRole[] | undefined } | undefined;
  host: string;
  path: string;
  clientAddress: string;
}

/** What ends a certificate's open connections when it is revoked or expires (the gateway's Credential). */
interface CertificateCredential {
  kind: 'certificate';
  id: string;
  expiresAt: number;
}

/** The guard's answer, one of the gateway's GuardDecisions. */
export type AdminGuardDecision =
  | {
      allowed: true;
      principal: string | undefined;
      role: AdminRole;
      identity: Record<string, string>;
      credential: CertificateCredential;
    }
  | {
      allowed: false;
      code: 'forbidden' | 'misdirected_request';
      reason: string;
      principal: string | undefined;
    };

export interface AdminGuardOptions {
  sourceCidrs: AddressSet;
  /** The current revoked serials (refreshed when the store changes). */
  revoked: () => ReadonlySet<string>;
  /** Serial -> role of every client certificate in the store (refreshed when the store changes). */
  storedRoles: () => ReadonlyMap<string, AdminRole>;
  /** Allowed requests, one record per principal and path per batch. */
  audit: AuditBuffer;
  /** Denied requests, tallied (denial-audit.ts). */
  recordDenial: (denial: AdminDenial) => void;
  now?: () => number;
}

/** The identity headers of a certificate, built once per connection (its facts are cached per socket). */
const identities = new WeakMap<PeerCertificateFacts, Record<string, string>>();
function identityOf(cert: PeerCertificateFacts): Record<string, string> {
  let identity = identities.get(cert);
  if (!identity) {
    identity = {
      'x-mailgate-client-cn': cert.commonName,
      'x-mailgate-client-serial': cert.serial,
      'x-mailgate-client-role': cert.role!,
      'x-mailgate-client-fingerprint': cert.fingerprint256,
    };
    identities.set(cert, identity);
  }
  return identity;
}

/** What ends this certificate's open connections when it is revoked or expires; built once per connection. */
const credentials = new WeakMap<PeerCertificateFacts, CertificateCredential>();
function credentialOf(cert: PeerCertificateFacts): CertificateCredential {
  let credential = credentials.get(cert);
  if (!credential) {
    credential = { kind: 'certificate', id: cert.serial, expiresAt: cert.notAfter };
    credentials.set(cert, credential);
  }
  return credential;
}

const DEFAULT_ROUTE_ROLES: readonly AdminRole[] = ['admin'];

/**
 * Creates the guard for `auth: admin` routes and the reserved admin paths (which admit every role; the
 * admin API checks roles per endpoint).
 */
export function createAdminGuard({
  sourceCidrs,
  revoked,
  storedRoles,
  audit,
  recordDenial,
  now = Date.now,
}: AdminGuardOptions): (input: AdminGuardInput) => AdminGuardDecision {
  return function adminPlaneGuard(input: AdminGuardInput): AdminGuardDecision {
    const socket = input.req.socket as TLSSocket;
    const cert = peerCertificateFacts(socket);
    const allowedRoles = input.route ? (input.route.roles ?? DEFAULT_ROUTE_ROLES) : ADMIN_ROLES;
    const decision = decideAdminAccess({
      cert,
      clientAddress: input.clientAddress,
      sourceCidrs,
      allowedRoles,
      servername: typeof socket.servername === 'string' ? socket.servername : undefined,
      host: input.host,
      revoked: revoked(),
      storedRole: cert.present ? storedRoles().get(cert.serial) : undefined,
      now: now(),
    });
    const principal = cert.present ? cert.serial : undefined;
    if (!decision.allowed) {
      recordDenial({
        client: input.clientAddress,
        reason: decision.reason,
        principal,
        target: `${input.req.method} ${input.path}`,
        detail: cert.present ? { cn: cert.commonName, role: cert.role } : undefined,
      });
      return {
        allowed: false,
        code: decision.status === 421 ? 'misdirected_request' : 'forbidden',
        reason: decision.reason,
        principal,
      };
    }
    audit.push(`${principal}\u0000${input.req.method} ${input.path}\u0000${input.clientAddress}`, () => ({
      actor: `cert:${principal}`,
      action: 'admin.access',
      target: `${input.req.method} ${input.path}`,
      outcome: 'ok',
      detail: { client: input.clientAddress, cn: cert.commonName, role: cert.role },
    }));
    return {
      allowed: true,
      principal,
      role: decision.role,
      identity: identityOf(cert),
      credential: credentialOf(cert),
    };
  };
}
