import { type ClientHttp2Session, connect as h2connect } from 'node:http2';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { Client } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrafficReport } from '../../admin/api/traffic.js';
import { issueClientCertificate } from '../../certs/issue-client.js';
import { createTestCa, type TestCa } from '../helpers/ca-fixture.js';
import { runCli } from '../helpers/cli.js';
import { clockReaches, eventually } from '../helpers/eventually.js';
import {
  ADMIN_ADDRESS,
  ADMIN_PLANE,
  type EchoGateway,
  issueTestCertificate,
  rawGet,
  startEchoGateway,
} from '../helpers/gateway.js';

/** Admin traffic must come from here (the "WireGuard" range of this test); 127.0.0.1 is outside it. */
const INSIDE = ADMIN_ADDRESS;

let gw: EchoGateway;
let foreign: TestCa;
type Credential = { serial: string; cert: string; key: string };
const creds: Record<string, Credential> = {};

const issue = (
  name: string,
  role: 'admin' | 'operator' | 'viewer',
  extra: { days?: number; now?: number } = {},
) => issueTestCertificate(gw, name, role, extra);

beforeAll(async () => {
  gw = await startEchoGateway({
    ...ADMIN_PLANE,
    routes: [
      { path: '/admin', upstream: 'app', auth: 'admin' },
      { path: '/stats', upstream: 'app', auth: 'admin', roles: ['admin', 'viewer'] },
      { path: '/', upstream: 'app', auth: 'public' },
    ],
  });
  creds.admin = await issue('alice', 'admin');
  creds.viewer = await issue('victor', 'viewer');
  creds.expired = await issue('old', 'admin', { days: 1, now: Date.now() - 3 * 86_400_000 });
  creds.keepalive = await issue('kate', 'admin');
  creds.h2 = await issue('hanna', 'admin');
  creds.resumed = await issue('rita', 'admin');
  foreign = await createTestCa('mailgate-foreign-');
  const db = foreign.db;
  const rogue = await issueClientCertificate(db, foreign.dataDir, {
    name: 'alice',
    role: 'admin',
    days: 30,
    actor: 'test',
    email: undefined,
  });
  creds.foreign = { serial: rogue.serial, cert: rogue.certPem, key: rogue.keyPem };
});

/** TLS client options for a credential, from a given source address (net's localAddress). */
function tlsFor(cred: Credential | undefined, from = INSIDE): ConnectionOptions {
  return {
    ca: gw.caPem,
    localAddress: from,
    ...(cred && { cert: cred.cert, key: cred.key }),
  } as ConnectionOptions;
}

/** TLS 1.3 clients finish their handshake before the server checks the certificate: a refusal shows up as an error or an empty answer. */
async function refusedAtHandshake(attempt: Promise<{ status: number }>) {
  const status = await attempt.then(
    (response) => response.status,
    () => 0,
  );
  expect(status).toBe(0);
}

describe('admin-plane policy over real TLS', () => {
  it('refuses a request without a certificate (403)', async () => {
    expect((await rawGet(gw.port, '/admin/', {}, tlsFor(undefined))).status).toBe(403);
  });

  it('refuses a certificate from another CA (403)', async () => {
    expect((await rawGet(gw.port, '/admin/', {}, tlsFor(creds.foreign))).status).toBe(403);
  });

  it('allows a valid admin certificate from inside the range; the upstream sees the identity', async () => {
    const response = await rawGet(
      gw.port,
      '/admin/ui',
      { 'x-mailgate-client-cn': 'mallory', 'x-mailgate-client-role': 'admin' },
      tlsFor(creds.admin),
    );
    expect(response.status).toBe(200);
    const seen = JSON.parse(response.body).headers;
    expect(seen['x-mailgate-client-cn']).toBe('alice');
    expect(seen['x-mailgate-client-serial']).toBe(creds.admin!.serial);
    expect(seen['x-mailgate-client-role']).toBe('admin');
    expect(seen['x-mailgate-client-fingerprint']).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(seen['x-forwarded-for']).toBe(INSIDE);
  });

  it('refuses the same certificate from outside the range (403)', async () => {
    expect((await rawGet(gw.port, '/admin/', {}, tlsFor(creds.admin, '127.0.0.1'))).status).toBe(403);
  });

  it('a spoofed X-Forwarded-For from outside the range grants nothing', async () => {
    const response = await rawGet(
      gw.port,
      '/admin/',
      { 'x-forwarded-for': INSIDE, 'x-real-ip': INSIDE },
      tlsFor(creds.admin, '127.0.0.1'),
    );
    expect(response.status).toBe(403);
  });

  it('refuses a viewer certificate on an admin-only route, admits it where the route lists viewer', async () => {
    expect((await rawGet(gw.port, '/admin/', {}, tlsFor(creds.viewer))).status).toBe(403);
    expect((await rawGet(gw.port, '/stats', {}, tlsFor(creds.viewer))).status).toBe(200);
  });

  it('refuses an expired certificate', async () => {
    expect((await rawGet(gw.port, '/admin/', {}, tlsFor(creds.expired))).status).toBe(403);
  });

  it('answers 421 when SNI and Host differ', async () => {
    const response = await rawGet(
      gw.port,
      '/admin/',
      { host: 'other.example.com' },
      { ...tlsFor(creds.admin), servername: 'localhost' },
    );
    expect(response.status).toBe(421);
  });

  it('serves the reserved admin paths only to the admin plane', async () => {
    expect((await rawGet(gw.port, '/_mailgate/metrics', {}, tlsFor(undefined))).status).toBe(403);
    const metrics = await rawGet(gw.port, '/_mailgate/metrics', {}, tlsFor(creds.viewer));
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('mailgate_auth_denied_total{plane="admin",reason="no_certificate"}');
    const api = await rawGet(gw.port, '/_mailgate/admin/api/status', {}, tlsFor(creds.viewer));
    expect(api.status).toBe(200);
  });

  it('one process: /traffic counts what /metrics counts, scoped to this process, without IPC', async () => {
    for (let i = 0; i < 3; i++) expect((await rawGet(gw.port, '/', {}, tlsFor(undefined))).status).toBe(200);
    const metrics = await rawGet(gw.port, '/_mailgate/metrics', {}, tlsFor(creds.viewer));
    let publicServed = 0;
    for (const match of metrics.body.matchAll(
      /^mailgate_http_requests_total\{[^}]*plane="public"[^}]*\} (\d+)$/gm,
    ))
      publicServed += Number(match[1]);
    expect(publicServed).toBeGreaterThanOrEqual(3);
    const response = await rawGet(gw.port, '/_mailgate/admin/api/traffic', {}, tlsFor(creds.viewer));
    expect(response.status).toBe(200);
    const report = JSON.parse(response.body) as TrafficReport;
    expect(report.scope).toEqual({ kind: 'process' });
    expect(report.totals.requests.public).toBe(publicServed);
    expect(report.processes.map(({ worker, pid }) => [worker, pid])).toEqual([[null, process.pid]]);
  });

  it('the admin API enforces roles over real TLS: a viewer may read but not issue', async () => {
    const body = JSON.stringify({ name: 'newbie', role: 'viewer' });
    const request = (cred: Credential) =>
      rawGet(gw.port, '/_mailgate/admin/api/certificates', {}, tlsFor(cred)).then(
        () =>
          new Promise<number>((resolve, reject) => {
            const socket = tlsConnect(
              { host: '127.0.0.1', port: gw.port, servername: 'localhost', ...tlsFor(cred) },
              () => {
                socket.write(
                  `POST /_mailgate/admin/api/certificates HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
                );
              },
            );
            let text = '';
            socket.on('data', (chunk) => {
              text += chunk;
            });
            socket.on('close', () => resolve(Number(text.split(' ')[1])));
            socket.on('error', reject);
          }),
      );
    expect(await request(creds.viewer!)).toBe(403);
    expect(await request(creds.admin!)).toBe(201);
  });

  it('records each admin-plane request in the audit trail', async () => {
    // Requests of its own, one allowed and one from outside the range: the tests may run in any order.
    expect((await rawGet(gw.port, '/admin/audited', {}, tlsFor(creds.admin))).status).toBe(200);
    expect((await rawGet(gw.port, '/admin/audited', {}, tlsFor(creds.admin, '127.0.0.1'))).status).toBe(403);
    // Written in batches, one a second: waited for, not slept on.
    await eventually(async () => {
      const result = await runCli(['audit', '--since', '1h', '--json'], { dataDir: gw.dataDir });
      const entries = JSON.parse(result.stdout).entries as Array<{
        action: string;
        outcome: string;
        detail: { reason?: string };
      }>;
      const access = entries.filter((e) => e.action === 'admin.access');
      expect(access.some((e) => e.outcome === 'ok')).toBe(true);
      expect(access.some((e) => e.outcome === 'denied' && e.detail.reason === 'source_not_allowed')).toBe(
        true,
      );
    }, 15_000);
  });
});

describe('the dedicated admin listener requires the certificate at the handshake', () => {
  const adminPort = () => gw.gateway.addresses.admin!.port;
  it('refuses a handshake without a certificate or with a foreign one, accepts a valid one', async () => {
    await refusedAtHandshake(rawGet(adminPort(), '/admin/', {}, tlsFor(undefined)));
    await refusedAtHandshake(rawGet(adminPort(), '/admin/', {}, tlsFor(creds.foreign)));
    expect((await rawGet(adminPort(), '/admin/', {}, tlsFor(creds.admin))).status).toBe(200);
  });
});

describe('live revocation by `mailgate ca revoke` in another process', () => {
  it('closes an open HTTP/1.1 keep-alive connection within one second; the next request is refused', async () => {
    const client = new Client(`https://127.0.0.1:${gw.port}`, {
      localAddress: INSIDE,
      connect: { ...tlsFor(creds.keepalive), servername: 'localhost' },
      pipelining: 1,
      // The client keeps the connection as long as the gateway does, so only the gateway can close it here.
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 60_000,
    });
    const get = async () => {
      const response = await client.request({
        path: '/admin/',
        method: 'GET',
        headers: { host: 'localhost' },
      });
      await response.body.dump();
      return response.statusCode;
    };
    let connections = 0;
    client.on('connect', () => connections++);
    // Waits for the gateway to close the idle keep-alive connection rather than polling on it: a request
    // sent in the instant the gateway closes the connection is reset, which is right but not what is measured.
    const closed = new Promise<number>((resolve) => client.once('disconnect', () => resolve(Date.now())));
    expect(await get()).toBe(200);
    const cliStartedAt = Date.now();
    const revoked = await runCli(['ca', 'revoke', creds.keepalive!.serial, '--reason', 'keyCompromise'], {
      dataDir: gw.dataDir,
    });
    expect(revoked.code, revoked.stderr).toBe(0);
    const revokedAt = Date.now();
    const closedAt = await closed;
    expect(closedAt).toBeGreaterThanOrEqual(cliStartedAt);
    expect(closedAt - revokedAt).toBeLessThanOrEqual(1_000);
    // The revoked certificate's connection was closed; the next request goes on a new one, refused by the guard.
    expect(await get()).toBe(403);
    expect(connections).toBe(2);
    await client.close();
  });

  it('closes an open h2 connection within one second; a new one is refused', async () => {
    const connect = () =>
      h2connect(`https://127.0.0.1:${gw.port}`, { ...tlsFor(creds.h2), servername: 'localhost' });
    const get = (session: ClientHttp2Session) =>
      new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':path': '/admin/', ':authority': 'localhost' });
        stream.on('response', (headers) => resolve(Number(headers[':status'])));
        stream.on('error', reject);
        stream.resume();
      });
    const session = connect();
    session.on('error', () => {});
    const closed = new Promise<number>((resolve) => session.on('close', () => resolve(Date.now())));
    expect(await get(session)).toBe(200);
    const cliStartedAt = Date.now();
    const revoked = await runCli(['ca', 'revoke', 'hanna'], { dataDir: gw.dataDir });
    expect(revoked.code, revoked.stderr).toBe(0);
    const revokedAt = Date.now();
    const closedAt = await closed;
    expect(closedAt).toBeGreaterThanOrEqual(cliStartedAt);
    expect(closedAt - revokedAt).toBeLessThanOrEqual(1_000);
    const fresh = connect();
    expect(await get(fresh)).toBe(403);
    fresh.close();
  });

  it('refuses a resumed TLS session and a new handshake after revocation', async () => {
    const connectOnce = (session?: Buffer) =>
      new Promise<{ status: number; reused: boolean; session: Buffer | undefined }>((resolve, reject) => {
        let saved: Buffer | undefined;
        let reused = false;
        const socket: TLSSocket = tlsConnect(
          {
            host: '127.0.0.1',
            port: gw.port,
            servername: 'localhost',
            ALPNProtocols: ['http/1.1'],
            ...tlsFor(creds.resumed),
            ...(session && { session }),
          },
          () => {
            reused = socket.isSessionReused();
            socket.write('GET /admin/ HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
          },
        );
        socket.on('session', (ticket) => {
          saved = ticket;
        });
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk;
        });
        socket.on('close', () => resolve({ status: Number(text.split(' ')[1]), reused, session: saved }));
        socket.on('error', reject);
      });
    const first = await connectOnce();
    expect(first.status).toBe(200);
    expect(first.session).toBeDefined();
    // Before revocation the ticket does resume, so the later refusal is not an accident of the setup.
    const again = await connectOnce(first.session);
    expect(again.reused).toBe(true);
    expect((await runCli(['ca', 'revoke', 'rita'], { dataDir: gw.dataDir })).code).toBe(0);
    // Within a second of the command returning: asked once then, not polled under a deadline that each
    // poll's handshake eats into.
    await clockReaches(Date.now() + 1_000);
    const resumed = await connectOnce(again.session ?? first.session);
    expect(resumed.status).toBe(403);
    expect(resumed.reused).toBe(false);
    // A new handshake: the CRL in the TLS context rejects the certificate on the dedicated admin listener.
    await refusedAtHandshake(rawGet(gw.gateway.addresses.admin!.port, '/admin/', {}, tlsFor(creds.resumed)));
    expect((await connectOnce()).status).toBe(403);
  });
});
