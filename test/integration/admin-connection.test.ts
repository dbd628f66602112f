/**
 * The admin guard works out a connection's certificate once (HTTP/1.1 socket, h2 session) and decides each
 * request: hostile cases over real TLS. What one connection's certificate says must never reach another
 * connection's requests, whether interleaved, resumed from a TLS ticket, or renegotiated.
 */
import { connect as h2connect } from 'node:http2';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClientCertificate } from '../../certs/issue-client.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { rawRequest, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { withDatabase } from '../helpers/temp-store.js';

const INSIDE = '127.0.0.2';

let echo: EchoUpstream;
let gw: TestGateway;
type Credential = { serial: string; cert: string; key: string };
const creds: Record<string, Credential> = {};

beforeAll(async () => {
  echo = await startEchoUpstream();
  gw = await startTestGateway({
    admin: { sourceCidrs: [`${INSIDE}/32`] },
    upstreams: { app: { url: echo.url } },
    routes: [
      { path: '/admin', upstream: 'app', auth: 'admin' },
      { path: '/stats', upstream: 'app', auth: 'admin', roles: ['admin', 'viewer'] },
      { path: '/', upstream: 'app', auth: 'public' },
    ],
  });
  for (const [name, role] of [
    ['alice', 'admin'],
    ['victor', 'viewer'],
    ['rita', 'admin'],
    ['nina', 'admin'],
  ] as const) {
    const issued = await withDatabase(gw.dataDir, (db) =>
      issueClientCertificate(db, gw.dataDir, { name, role, days: 30, actor: 'test' }),
    );
    creds[name] = { serial: issued.serial, cert: issued.certPem, key: issued.keyPem };
  }
  // The guard knows a certificate once its store watch has loaded it.
  for (const cred of Object.values(creds))
    await eventually(async () => {
      const known = await rawRequest(
        gw.port,
        `GET /stats/known-${cred.serial} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`,
        { ALPNProtocols: ['http/1.1'], ...tlsFor(cred) },
      );
      if (known.status !== 200) throw new Error(`${cred.serial} not known yet`);
    });
});

afterAll(async () => {
  await gw?.close();
  await echo?.close();
});

/** TLS client options for a credential (none: no certificate), from inside the admin range. */
function tlsFor(cred: Credential | undefined): ConnectionOptions {
  return {
    ca: gw.caPem,
    servername: 'localhost',
    localAddress: INSIDE,
    ...(cred && { cert: cred.cert, key: cred.key }),
  } as ConnectionOptions;
}

/** An undici keep-alive client (one connection) with the credential; undici takes the source address itself. */
const h1Client = (cred: Credential | undefined) =>
  new Client(`https://127.0.0.1:${gw.port}`, { connect: tlsFor(cred), localAddress: INSIDE, pipelining: 1 });

/** The serial the upstream was told for `url`, or undefined when the request never reached it. */
function upstreamSerial(url: string): string | undefined {
  const seen = echo.received.filter((entry) => entry.url === url);
  expect(seen.length).toBeLessThanOrEqual(1);
  return seen[0]?.headers['x-mailgate-client-serial'] as string | undefined;
}

describe('a connection’s certificate reaches only its own requests', () => {
  it('h2 sessions and HTTP/1.1 keep-alive connections with different certificates, interleaved', async () => {
    const sessions = {
      aliceH2: h2connect(`https://127.0.0.1:${gw.port}`, tlsFor(creds.alice)),
      victorH2: h2connect(`https://127.0.0.1:${gw.port}`, tlsFor(creds.victor)),
      anonymousH2: h2connect(`https://127.0.0.1:${gw.port}`, tlsFor(undefined)),
    };
    const clients = {
      aliceH1: h1Client(creds.alice),
      victorH1: h1Client(creds.victor),
      anonymousH1: h1Client(undefined),
    };
    const expected: Record<string, string | undefined> = {
      aliceH2: creds.alice!.serial,
      victorH2: creds.victor!.serial,
      anonymousH2: undefined,
      aliceH1: creds.alice!.serial,
      victorH1: creds.victor!.serial,
      anonymousH1: undefined,
    };
    // A client without a certificate claims alice's identity in headers: scrubbed, and refused anyway.
    const forged = { 'x-mailgate-client-serial': creds.alice!.serial, 'x-mailgate-client-role': 'admin' };
    const h2Get = (who: keyof typeof sessions, path: string) =>
      new Promise<number>((resolve, reject) => {
        const stream = sessions[who].request({ ':path': path, ':authority': 'localhost', ...forged });
        stream.on('response', (headers) => resolve(Number(headers[':status'])));
        stream.on('error', reject);
        stream.resume();
      });
    const h1Get = async (who: keyof typeof clients, path: string) => {
      const response = await clients[who].request({
        method: 'GET',
        path,
        headers: { host: 'localhost', ...forged },
      });
      await response.body.dump();
      return response.statusCode;
    };
    try {
      for (let round = 0; round < 6; round++) {
        const asked = Object.keys(expected).map(async (who) => {
          const path = `/stats/${who}/${round}`;
          const status =
            who in sessions
              ? await h2Get(who as keyof typeof sessions, path)
              : await h1Get(who as keyof typeof clients, path);
          return { who, path, status };
        });
        for (const { who, path, status } of await Promise.all(asked)) {
          expect(status, `${who} ${path}`).toBe(expected[who] === undefined ? 403 : 200);
          expect(upstreamSerial(path), `${who} ${path}`).toBe(expected[who]);
        }
      }
      // Route roles are per request on the same connections: the viewer's /admin is refused, alice's is not.
      expect(await h2Get('victorH2', '/admin/v')).toBe(403);
      expect(await h1Get('victorH1', '/admin/v1')).toBe(403);
      expect(await h2Get('aliceH2', '/admin/a')).toBe(200);
      expect(upstreamSerial('/admin/v')).toBeUndefined();
      expect(upstreamSerial('/admin/a')).toBe(creds.alice!.serial);
    } finally {
      for (const session of Object.values(sessions)) session.close();
      await Promise.all(Object.values(clients).map((client) => client.close()));
    }
  });

  it('a resumed TLS session carries the certificate of its own handshake, never a cached one', async () => {
    const get = (path: string, tls: ConnectionOptions) =>
      rawRequest(gw.port, `GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`, {
        ALPNProtocols: ['http/1.1'],
        ...tls,
      });
    const anonymous = await get('/admin/resume-0', tlsFor(undefined));
    expect(anonymous.status).toBe(403);
    expect(anonymous.session).toBeDefined();
    const rita = await get('/admin/resume-1', tlsFor(creds.rita));
    expect(rita.status).toBe(200);
    expect(rita.session).toBeDefined();
    // Resuming the anonymous session right after a certificate was seen: still no certificate.
    const resumedAnonymous = await get('/admin/resume-2', {
      ...tlsFor(undefined),
      session: anonymous.session!,
    });
    expect(resumedAnonymous.reused).toBe(true);
    expect(resumedAnonymous.status).toBe(403);
    expect(upstreamSerial('/admin/resume-2')).toBeUndefined();
    // Resuming rita's session without presenting anything: the ticket's own certificate, rita's (its holder
    // proved the session's secret), read for this connection.
    const resumedRita = await get('/admin/resume-3', { ...tlsFor(undefined), session: rita.session! });
    expect(resumedRita.reused).toBe(true);
    expect(resumedRita.status).toBe(200);
    expect(upstreamSerial('/admin/resume-3')).toBe(creds.rita!.serial);
  });

  it('a renegotiation (TLS 1.2) ends the connection: its certificate can never change under the cache', async () => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: gw.port,
      ALPNProtocols: ['http/1.1'],
      maxVersion: 'TLSv1.2',
      ...tlsFor(creds.nina),
    });
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    expect(socket.getProtocol()).toBe('TLSv1.2');
    socket.write('GET /admin/reneg-1 HTTP/1.1\r\nhost: localhost\r\n\r\n');
    await expect.poll(() => text, { timeout: 5_000 }).toContain('/admin/reneg-1');
    expect(text.startsWith('HTTP/1.1 200')).toBe(true);
    socket.renegotiate({ rejectUnauthorized: false }, () => {});
    // Allowed, the connection would stay open for its keep-alive timeout (75 s).
    const deadline = new Promise<'open'>((resolve) => setTimeout(resolve, 10_000, 'open').unref());
    expect(await Promise.race([closed.then(() => 'closed'), deadline])).toBe('closed');
    expect(upstreamSerial('/admin/reneg-1')).toBe(creds.nina!.serial);
    // The gateway serves on.
    const after = await rawRequest(
      gw.port,
      'GET /admin/reneg-2 HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n',
      { ALPNProtocols: ['http/1.1'], ...tlsFor(creds.nina) },
    );
    expect(after.status).toBe(200);
  });
});
