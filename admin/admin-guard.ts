/**
 * @module The admin-plane guard: what a connection's certificate says is worked out once per connection,
 * the pure policy decides each request, identity headers and an audit record out.
 */
import type { TLSSocket } from 'node:tls';
import type { AddressSet } from '../lib/cidr.js';
import { PerConnection } from '../lib/per-connection.js';
import type { AuditBuffer } from '../store/audit-buffer.js';
import { ADMIN_ROLES, type AdminRole, decideAdminAccess, type PeerCertificateFacts } from './admin-policy.js';
import type { AdminDenial } from './denial-audit.js';
import { peerCertificateFacts } from './peer-certificate.js';

/** What the guard reads of the request itself. */
export interface AdminRequest {
  socket: object;
  method?: string | undefined;
}

/** What the guard reads of a request; the gateway's GuardInput satisfies it (admin/ names nothing of gateway/). */
export interface AdminGuardInput<Req extends AdminRequest = AdminRequest> {
  req: Req;
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

/** The guard's answer when it allows: one frozen object per connection. */
export interface AdminAllowed {
  readonly allowed: true;
  readonly principal: string | undefined;
  readonly role: AdminRole;
  readonly identity: Readonly<Record<string, string>>;
  readonly credential: Readonly<CertificateCredential>;
}

/** The guard's answer, one of the gateway's GuardDecisions. */
export type AdminGuardDecision =
  | AdminAllowed
  | {
      allowed: false;
      code: 'forbidden' | 'misdirected_request';
      reason: string;
      principal: string | undefined;
    };

export interface AdminGuardOptions<Req extends AdminRequest> {
  sourceCidrs: AddressSet;
  /** The current revoked serials (refreshed when the store changes). */
  revoked: () => ReadonlySet<string>;
  /** Serial -> role of every client certificate in the store (refreshed when the store changes). */
  storedRoles: () => ReadonlyMap<string, AdminRole>;
  /**
   * The client connection a request arrived on: its HTTP/1.1 socket or its h2 session, never a per-stream
   * object (the gateway's requestConnection); undefined when it is gone.
   */
  connectionOf: (req: Req) => object | undefined;
  /** Allowed requests, one record per principal and path per batch. */
  audit: AuditBuffer;
  /** Denied requests, tallied (denial-audit.ts). */
  recordDenial: (denial: AdminDenial) => void;
  now?: () => number;
}

/**
 * What the admin plane keeps of one client connection: facts fixed at its handshake and what follows
 * from them alone. Whether they let a request through (validity, revocation, the store's role, route
 * roles, source, Host) is decided per request.
 */
export interface AdminConnection {
  readonly cert: PeerCertificateFacts;
  /** TLS SNI, lower-cased; undefined when the client sent none. */
  readonly servername: string | undefined;
  /** The answer for every allowed request: built once, frozen, undefined without a certificate and role. */
  readonly allowed: AdminAllowed | undefined;
  /** The audit key of the connection's last allowed request, and what it was built from. */
  lastAudit: { method: string; path: string; client: string; key: string } | undefined;
}

/** Reads a connection's certificate and builds its identity headers and credential: once per connection. */
export function readAdminConnection(socket: TLSSocket): AdminConnection {
  const cert = peerCertificateFacts(socket);
  const servername = typeof socket.servername === 'string' ? socket.servername.toLowerCase() : undefined;
  const allowed: AdminAllowed | undefined =
    cert.present && cert.role !== undefined
      ? Object.freeze({
          allowed: true,
          principal: cert.serial,
          role: cert.role,
          identity: Object.freeze({
            'x-mailgate-client-cn': cert.commonName,
            'x-mailgate-client-serial': cert.serial,
            'x-mailgate-client-role': cert.role,
            'x-mailgate-client-fingerprint': cert.fingerprint256,
          }),
          credential: Object.freeze({ kind: 'certificate', id: cert.serial, expiresAt: cert.notAfter }),
        } as const)
      : undefined;
  return { cert, servername, allowed, lastAudit: undefined };
}

/**
 * The key of an allowed request's audit record (equal keys count into one record per batch). A keep-alive
 * client asking for the same target again reuses its connection's last key instead of building one.
 */
export function auditKey(connection: AdminConnection, method: string, path: string, client: string): string {
  const last = connection.lastAudit;
  if (last !== undefined && last.path === path && last.method === method && last.client === client)
    return last.key;
  const key = `${connection.cert.serial}\u0000${method} ${path}\u0000${client}`;
  connection.lastAudit = { method, path, client, key };
  return key;
}

const DEFAULT_ROUTE_ROLES: readonly AdminRole[] = ['admin'];

/**
 * Creates the guard for `auth: admin` routes and the reserved admin paths (which admit every role; the
 * admin API checks roles per endpoint).
 */
export function createAdminGuard<Req extends AdminRequest>({
  sourceCidrs,
  revoked,
  storedRoles,
  connectionOf,
  audit,
  recordDenial,
  now = Date.now,
}: AdminGuardOptions<Req>): (input: AdminGuardInput<Req>) => AdminGuardDecision {
  const connections = new PerConnection<AdminConnection>();
  const read = (req: Req) => readAdminConnection(req.socket as TLSSocket);
  return function adminPlaneGuard(input: AdminGuardInput<Req>): AdminGuardDecision {
    const req = input.req;
    const connection = connections.get(connectionOf(req), req, read);
    const { cert } = connection;
    const allowedRoles = input.route ? (input.route.roles ?? DEFAULT_ROUTE_ROLES) : ADMIN_ROLES;
    const decision = decideAdminAccess({
      cert,
      clientAddress: input.clientAddress,
      sourceCidrs,
      allowedRoles,
      servername: connection.servername,
      host: input.host,
      revoked: revoked(),
      storedRole: cert.present ? storedRoles().get(cert.serial) : undefined,
      now: now(),
    });
    const method = req.method ?? '';
    if (!decision.allowed) {
      const principal = cert.present ? cert.serial : undefined;
      recordDenial({
        client: input.clientAddress,
        reason: decision.reason,
        principal,
        target: `${method} ${input.path}`,
        detail: cert.present ? { cn: cert.commonName, role: cert.role } : undefined,
      });
      return {
        allowed: false,
        code: decision.status === 421 ? 'misdirected_request' : 'forbidden',
        reason: decision.reason,
        principal,
      };
    }
    const key = auditKey(connection, method, input.path, input.clientAddress);
    if (!audit.count(key))
      audit.push(key, () => ({
        actor: `cert:${cert.serial}`,
        action: 'admin.access',
        target: `${method} ${input.path}`,
        outcome: 'ok',
        detail: { client: input.clientAddress, cn: cert.commonName, role: cert.role },
      }));
    // The policy allows a certificate only in its own role: the answer is the connection's.
    return connection.allowed!;
  };
}
