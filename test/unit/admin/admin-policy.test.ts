import { describe, expect, it } from 'vitest';
import {
  type AdminPolicyInput,
  decideAdminAccess,
  type PeerCertificateFacts,
} from '../../../admin/admin-policy.js';
import { AddressSet, parseCidr } from '../../../lib/cidr.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const cert: PeerCertificateFacts = {
  present: true,
  authorized: true,
  serial: 'abc',
  commonName: 'alice',
  fingerprint256: 'AA',
  notBefore: NOW - 86_400_000,
  notAfter: NOW + 86_400_000,
  clientAuth: true,
  role: 'admin',
};
const base: AdminPolicyInput = {
  cert,
  clientAddress: '10.8.0.2',
  sourceCidrs: new AddressSet([parseCidr('10.8.0.0/24')!]),
  allowedRoles: ['admin'],
  servername: 'mail.example.com',
  host: 'mail.example.com',
  revoked: new Set(),
  storedRole: 'admin',
  now: NOW,
};

describe('decideAdminAccess', () => {
  it('allows a valid admin certificate from the WireGuard range', () => {
    expect(decideAdminAccess(base)).toEqual({ allowed: true, role: 'admin' });
  });

  it.each<[string, Partial<AdminPolicyInput>, string, number]>([
    ['SNI differs from Host', { servername: 'other.example.com' }, 'sni_mismatch', 421],
    ['address outside the range', { clientAddress: '203.0.113.9' }, 'source_not_allowed', 403],
    ['no certificate', { cert: { ...cert, present: false } }, 'no_certificate', 403],
    [
      'another CA',
      { cert: { ...cert, authorized: false, authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } },
      'untrusted_certificate',
      403,
    ],
    ['expired (keep-alive outlived it)', { now: cert.notAfter + 1 }, 'certificate_expired', 403],
    ['not yet valid', { now: cert.notBefore - 1 }, 'certificate_not_yet_valid', 403],
    ['revoked since the handshake', { revoked: new Set(['abc']) }, 'certificate_revoked', 403],
    [
      'revoked at the handshake (CRL)',
      { cert: { ...cert, authorized: false, authorizationError: 'CERT_REVOKED' } },
      'certificate_revoked',
      403,
    ],
    ['no clientAuth usage', { cert: { ...cert, clientAuth: false } }, 'no_client_auth', 403],
    [
      'viewer on an admin-only route',
      { cert: { ...cert, role: 'viewer' }, storedRole: 'viewer' },
      'role_not_allowed',
      403,
    ],
    ['no role at all', { cert: { ...cert, role: undefined } }, 'role_not_allowed', 403],
    ['a serial the store never issued', { storedRole: undefined }, 'certificate_unknown', 403],
    ['an admin role where the store issued viewer', { storedRole: 'viewer' }, 'role_mismatch', 403],
    [
      'a viewer role where the store issued admin',
      { cert: { ...cert, role: 'viewer' } },
      'role_mismatch',
      403,
    ],
  ])('denies: %s', (_name, change, reason, status) => {
    expect(decideAdminAccess({ ...base, ...change })).toEqual({ allowed: false, status, reason });
  });

  it('admits other roles where the route lists them, and no SNI at all', () => {
    expect(
      decideAdminAccess({
        ...base,
        cert: { ...cert, role: 'viewer' },
        storedRole: 'viewer',
        allowedRoles: ['admin', 'viewer'],
        servername: undefined,
      }),
    ).toEqual({
      allowed: true,
      role: 'viewer',
    });
  });
});
