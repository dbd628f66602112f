/**
 * @module Reads the client certificate facts of a TLS connection; the admin guard reads them once per
 * connection (gateway/request-connection.ts) and keeps them for its life.
 */
import type { TLSSocket } from 'node:tls';
import { roleFromCertificate } from '../certs/client-role.js';
import type { PeerCertificateFacts } from './admin-policy.js';

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

const NONE: PeerCertificateFacts = {
  present: false,
  authorized: false,
  serial: '',
  commonName: '',
  fingerprint256: '',
  notBefore: 0,
  notAfter: 0,
  clientAuth: false,
  role: undefined,
};

/**
 * The facts for `socket` (a TLSSocket; an h2 request's socket proxies to its session's). Renegotiation is
 * disabled on it from here on, whatever set the socket up: facts kept for a connection's life must never
 * meet a second handshake with another certificate (the listeners disable it at the handshake already).
 */
export function peerCertificateFacts(socket: TLSSocket): PeerCertificateFacts {
  if (typeof socket.getPeerCertificate !== 'function') return NONE;
  socket.disableRenegotiation();
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return NONE;
  const cn = cert.subject?.CN;
  return {
    present: true,
    authorized: socket.authorized,
    authorizationError: socket.authorizationError ? String(socket.authorizationError) : undefined,
    serial: cert.serialNumber.toLowerCase(),
    commonName: Array.isArray(cn) ? cn.join(',') : (cn ?? ''),
    fingerprint256: cert.fingerprint256,
    notBefore: Date.parse(cert.valid_from),
    notAfter: Date.parse(cert.valid_to),
    clientAuth: (cert.ext_key_usage ?? []).includes(CLIENT_AUTH_OID),
    // From the SAN's structure, never from the subjectaltname text (issue 12).
    role: roleFromCertificate(cert.raw).role,
  };
}
