import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminGuard } from '../../../admin/admin-guard.js';
import type { AdminRole } from '../../../admin/admin-policy.js';
import type { AdminDenial } from '../../../admin/denial-audit.js';
import { issueClientCertificate } from '../../../certs/issue-client.js';
import type {
  Allowed,
  Denied,
  GatewayRequest,
  GuardDecision,
  GuardInput,
} from '../../../gateway/plane-guard.js';
import { requestConnection } from '../../../gateway/request-connection.js';
import type { Route } from '../../../gateway/route-table.js';
import { AddressSet, parseCidr } from '../../../lib/cidr.js';
import { readAudit } from '../../../store/audit.js';
import { AuditBuffer } from '../../../store/audit-buffer.js';
import { createTestCa, type TestCa } from '../../helpers/ca-fixture.js';

const INSIDE = '10.8.0.2';
const DAY_MS = 86_400_000;
let ca: TestCa;
const certs: Record<
  'alice' | 'victor',
  { serial: string; pem: string; notBefore: number; notAfter: number }
> = {} as never;

beforeAll(async () => {
  ca = await createTestCa();
  for (const [name, role] of [
    ['alice', 'admin'],
    ['victor', 'viewer'],
  ] as const) {
    const issued = await issueClientCertificate(ca.db, ca.dataDir, { name, role, days: 30, actor: 'test' });
    certs[name] = {
      serial: issued.serial,
      pem: issued.certPem,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
    };
  }
});
afterAll(() => ca?.cleanup());

/**
 * The TLS facts of one connection as Node reports them (getPeerCertificate's object, from the real
 * certificate), counting how often they are read; no socket.
 */
function connection(pem: string | undefined, servername: string | false = 'localhost') {
  const legacy = pem === undefined ? {} : new X509Certificate(pem).toLegacyObject();
  const socket = {
    reads: 0,
    renegotiationDisabled: false,
    authorized: pem !== undefined,
    authorizationError: null,
    servername,
    getPeerCertificate() {
      socket.reads++;
      return legacy;
    },
    disableRenegotiation() {
      socket.renegotiationDisabled = true;
    },
  };
  return socket;
}

/** A request on `socket` (HTTP/1.1), or on the h2 `session` (each stream brings its own socket object). */
function request(socket: object, session?: object): GatewayRequest {
  return (session === undefined
    ? { socket, method: 'GET', headers: {} }
    : {
        socket: { ...socket },
        stream: { session },
        method: 'GET',
        headers: {},
      }) as unknown as GatewayRequest;
}

const adminRoute = { path: '/admin', roles: undefined } as unknown as Route;
const statsRoute = { path: '/stats', roles: ['admin', 'viewer'] } as unknown as Route;

function setup() {
  let now = certs.alice.notBefore + DAY_MS;
  const revoked = new Set<string>();
  const roles = new Map<string, AdminRole>([
    [certs.alice.serial, 'admin'],
    [certs.victor.serial, 'viewer'],
  ]);
  const denials: AdminDenial[] = [];
  const audit = new AuditBuffer(ca.db, () => now);
  const guard = createAdminGuard({
    sourceCidrs: new AddressSet([parseCidr('10.8.0.0/24')!]),
    revoked: () => revoked,
    storedRoles: () => roles,
    connectionOf: requestConnection,
    audit,
    recordDenial: (denial) => denials.push(denial),
    now: () => now,
  });
  const ask = (
    req: GatewayRequest,
    { route = adminRoute, host = 'localhost', client = INSIDE, path = '/admin' } = {},
  ) => {
    const input: GuardInput = { req, route, host, path, clientAddress: client, peerAddress: client };
    return guard(input) as GuardDecision;
  };
  return {
    ask,
    revoked,
    roles,
    denials,
    audit,
    setNow: (at: number) => {
      now = at;
    },
  };
}

const reason = (decision: GuardDecision) => (decision as Denied).reason ?? 'allowed';

describe('admin guard: work once per connection, decisions per request', () => {
  it('reads the certificate once per connection (HTTP/1.1 socket, h2 session) and disables renegotiation', () => {
    const { ask } = setup();
    const socket = connection(certs.alice.pem);
    for (let i = 0; i < 5; i++) expect(ask(request(socket)).allowed).toBe(true);
    expect(socket.reads).toBe(1);
    expect(socket.renegotiationDisabled).toBe(true);
    const sessionSocket = connection(certs.alice.pem);
    const session = {};
    // Five streams, five socket objects, one session: one read.
    for (let i = 0; i < 5; i++) expect(ask(request(sessionSocket, session)).allowed).toBe(true);
    expect(sessionSocket.reads).toBe(1);
  });

  it('answers every allowed request of a connection with one frozen decision carrying its own identity', () => {
    const { ask } = setup();
    const alice = connection(certs.alice.pem);
    const victor = connection(certs.victor.pem);
    const first = ask(request(alice)) as Allowed;
    const other = ask(request(victor), { route: statsRoute }) as Allowed;
    expect(ask(request(alice))).toBe(first);
    expect(first.identity?.['x-mailgate-client-serial']).toBe(certs.alice.serial);
    expect(first.identity?.['x-mailgate-client-role']).toBe('admin');
    expect(other.identity?.['x-mailgate-client-serial']).toBe(certs.victor.serial);
    expect(other.identity?.['x-mailgate-client-role']).toBe('viewer');
    expect(first.credential).toEqual({
      kind: 'certificate',
      id: certs.alice.serial,
      expiresAt: certs.alice.notAfter,
    });
    expect(
      Object.isFrozen(first) && Object.isFrozen(first.identity) && Object.isFrozen(first.credential),
    ).toBe(true);
  });

  it('a cached certificate never outlives its expiry: the same connection is refused after notAfter', () => {
    const { ask, setNow } = setup();
    const socket = connection(certs.alice.pem);
    expect(ask(request(socket)).allowed).toBe(true);
    setNow(certs.alice.notAfter + 1);
    expect(reason(ask(request(socket)))).toBe('certificate_expired');
    setNow(certs.alice.notBefore - 1);
    expect(reason(ask(request(socket)))).toBe('certificate_not_yet_valid');
    expect(socket.reads).toBe(1);
  });

  it("a cached certificate never outlives its revocation or a change of the store's role", () => {
    const { ask, revoked, roles } = setup();
    const socket = connection(certs.alice.pem);
    const session = {};
    expect(ask(request(socket)).allowed).toBe(true);
    expect(ask(request(socket, session)).allowed).toBe(true);
    revoked.add(certs.alice.serial);
    expect(reason(ask(request(socket)))).toBe('certificate_revoked');
    expect(reason(ask(request(socket, session)))).toBe('certificate_revoked');
    revoked.clear();
    roles.set(certs.alice.serial, 'viewer');
    expect(reason(ask(request(socket)))).toBe('role_mismatch');
    roles.delete(certs.alice.serial);
    expect(reason(ask(request(socket)))).toBe('certificate_unknown');
  });

  it('decides source, Host against the cached SNI, and route roles per request on one connection', () => {
    const { ask } = setup();
    const socket = connection(certs.victor.pem, 'LocalHost');
    expect(ask(request(socket), { route: statsRoute }).allowed).toBe(true);
    expect(reason(ask(request(socket)))).toBe('role_not_allowed');
    // A client behind a trusted proxy: the address may change from one request to the next.
    expect(reason(ask(request(socket), { route: statsRoute, client: '203.0.113.9' }))).toBe(
      'source_not_allowed',
    );
    expect(reason(ask(request(socket), { route: statsRoute, host: 'other.example' }))).toBe('sni_mismatch');
    expect(ask(request(socket), { route: statsRoute }).allowed).toBe(true);
    expect(socket.reads).toBe(1);
  });

  it('a connection without a certificate is refused on every request, and never takes another one', () => {
    const { ask, denials } = setup();
    const withCert = connection(certs.alice.pem);
    const without = connection(undefined);
    const session = {};
    expect(ask(request(withCert, session)).allowed).toBe(true);
    for (let i = 0; i < 3; i++) expect(reason(ask(request(without)))).toBe('no_certificate');
    // Over h2 likewise, beside a session that has a certificate.
    expect(reason(ask(request(without, {})))).toBe('no_certificate');
    expect(denials.map((d) => d.principal)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('audits repeats of one request on a connection as one record with a count; other paths apart', () => {
    const { ask, audit } = setup();
    const socket = connection(certs.alice.pem);
    const since = Date.now() - 10 * 365 * DAY_MS;
    const before = readAudit(ca.db, since).filter((e) => e.action === 'admin.access').length;
    for (let i = 0; i < 4; i++) ask(request(socket), { path: '/admin/a' });
    ask(request(socket), { path: '/admin/b' });
    ask(request(socket), { path: '/admin/a' });
    audit.flush();
    const entries = readAudit(ca.db, since)
      .filter((e) => e.action === 'admin.access')
      .slice(before);
    const byTarget = Object.fromEntries(entries.map((e) => [e.target, e.detail?.count ?? 1]));
    expect(byTarget).toEqual({ 'GET /admin/a': 5, 'GET /admin/b': 1 });
    expect(entries.every((e) => e.actor === `cert:${certs.alice.serial}`)).toBe(true);
    audit.close();
  });
});
