import { createServer, type Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { withDatabase } from '../../store/database.js';
import { issueToken } from '../../tokens/issue-token.js';
import { runCli } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import {
  ADMIN_PLANE,
  issueTestCertificate,
  openRawH1,
  rawGet,
  startTestGateway,
  type TestGateway,
} from '../helpers/gateway.js';

const DAY_MS = 86_400_000;
/** The promise under test: revocation and expiry end open connections within a second. */
const WITHIN_MS = 1_000;

/** What the upstream saw of one WebSocket or one held request: when it ended on its side. */
interface UpstreamConnection {
  url: string;
  endedAt?: number;
}

let upstream: Server;
let gw: TestGateway;
const seen: UpstreamConnection[] = [];

beforeAll(async () => {
  // /admin/hold and /ws/hold answer a first chunk and then hold the response open; WebSockets echo.
  upstream = createServer((req, res) => {
    const entry: UpstreamConnection = { url: req.url ?? '' };
    seen.push(entry);
    res.on('close', () => {
      entry.endedAt = Date.now();
    });
    res.writeHead(200, { 'content-type': 'text/plain' });
    if (req.url?.endsWith('/hold')) res.write('first\n');
    else res.end('ok\n');
  });
  const wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (socket, req) => {
    const entry: UpstreamConnection = { url: req.url ?? '' };
    seen.push(entry);
    socket.on('message', (data) => socket.send(`echo:${data.toString()}`));
    socket.on('close', () => {
      entry.endedAt = Date.now();
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  gw = await startTestGateway({
    admin: ADMIN_PLANE.admin,
    upstreams: { app: { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } },
    routes: [
      { path: '/admin', upstream: 'app', auth: 'admin' },
      { path: '/ws', upstream: 'app', auth: 'token', scopes: ['send'] },
      { path: '/', upstream: 'app', auth: 'public' },
    ],
  });
});

afterAll(async () => {
  await gw?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

async function issueCertificate(name: string, now?: number) {
  const credential = await issueTestCertificate(gw, name, 'admin', {
    days: 1,
    ...(now !== undefined && { now }),
  });
  // The admin guard knows a certificate once its change watch has loaded it from the store.
  await eventually(async () => (await rawGet(gw.port, '/admin/known', {}, credential.tls)).status === 200);
  return credential;
}

async function issueSendToken(app: string, ttlMs = DAY_MS) {
  return withDatabase(gw.dataDir, (db) =>
    issueToken(db, {
      app,
      scopes: ['send'],
      ttlMs,
      issuer: gw.config.publicUrl,
      audience: gw.config.tokens.audience,
      actor: 'test',
    }),
  );
}

interface OpenSocket {
  ws: WebSocket;
  /** Resolves with the close code and when the client saw the close. */
  closed: Promise<{ code: number; at: number }>;
  upstream: UpstreamConnection;
}

/** A WebSocket through the gateway, echoing once so both ends are known to be joined. */
async function openWebSocket(
  path: string,
  options: ConnectionOptions & { headers?: Record<string, string> },
) {
  const before = seen.length;
  const ws = new WebSocket(`wss://127.0.0.1:${gw.port}${path}`, {
    ca: gw.caPem,
    servername: 'localhost',
    headers: { host: 'localhost', ...options.headers },
    ...options,
  });
  const closed = new Promise<{ code: number; at: number }>((resolve) =>
    ws.on('close', (code) => resolve({ code, at: Date.now() })),
  );
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  const echoed = new Promise((resolve) => ws.once('message', resolve));
  ws.send('ping');
  expect(String(await echoed)).toBe('echo:ping');
  const upstreamEntry = seen.slice(before).find((entry) => entry.url === path)!;
  return { ws, closed, upstream: upstreamEntry } satisfies OpenSocket;
}

/**
 * Revokes `serial` while its /admin/hold request (the first since `before`) is in flight: the client's connection
 * closes within WITHIN_MS and the upstream request ends.
 */
async function revokeWhileHeld(serial: string, before: number, closedAt: Promise<number>) {
  const held = seen.slice(before).find((entry) => entry.url === '/admin/hold')!;
  const revoked = await runCli(['ca', 'revoke', serial], { dataDir: gw.dataDir });
  expect(revoked.code, revoked.stderr).toBe(0);
  const since = Date.now();
  expect((await closedAt) - since).toBeLessThanOrEqual(WITHIN_MS);
  await eventually(() => held.endedAt !== undefined, WITHIN_MS);
}

/** Asserts the client saw the close within WITHIN_MS of `since`, and the upstream saw its side end. */
async function expectEndedWithin(socket: OpenSocket, since: number) {
  const { code, at } = await socket.closed;
  expect(code).toBe(1008);
  await eventually(() => socket.upstream.endedAt !== undefined, WITHIN_MS);
  console.log(
    `${socket.upstream.url}: client closed after ${at - since} ms, upstream after ${socket.upstream.endedAt! - since} ms`,
  );
  expect(at - since).toBeLessThanOrEqual(WITHIN_MS);
  expect(socket.upstream.endedAt! - since).toBeLessThanOrEqual(WITHIN_MS);
}

describe('WebSockets authorised by a client certificate', () => {
  it('are closed (1008) within a second of `mailgate ca revoke`, and the upstream sees the end', async () => {
    const credential = await issueCertificate('wendy');
    const socket = await openWebSocket('/admin/socket', credential.tls);
    const untouched = await openWebSocket('/admin/other', (await issueCertificate('olga')).tls);
    const revoked = await runCli(['ca', 'revoke', credential.serial], { dataDir: gw.dataDir });
    expect(revoked.code, revoked.stderr).toBe(0);
    await expectEndedWithin(socket, Date.now());
    // Another certificate's socket keeps working.
    const echoed = new Promise((resolve) => untouched.ws.once('message', resolve));
    untouched.ws.send('still');
    expect(String(await echoed)).toBe('echo:still');
    untouched.ws.close();
    await expect(openWebSocket('/admin/again', credential.tls)).rejects.toThrow(/403/);
  });

  it("are closed at the certificate's notAfter", async () => {
    // Issued a day ago for one day: it expires a few seconds from now.
    const credential = await issueCertificate('short', Date.now() - DAY_MS + 5_000);
    const socket = await openWebSocket('/admin/expiring', credential.tls);
    expect(credential.notAfter).toBeGreaterThan(Date.now());
    const { at } = await socket.closed;
    expect(at).toBeGreaterThanOrEqual(credential.notAfter);
    await expectEndedWithin(socket, credential.notAfter);
  });
});

describe('WebSockets authorised by a token', () => {
  it('are closed within a second of `mailgate token revoke`', async () => {
    const token = await issueSendToken('chat');
    // Accepted once the gateway's change watch has loaded the new token.
    const socket = await eventually(() =>
      openWebSocket('/ws/chat', { headers: { authorization: `Bearer ${token.token}` } }),
    );
    const revoked = await runCli(['token', 'revoke', token.id], { dataDir: gw.dataDir });
    expect(revoked.code, revoked.stderr).toBe(0);
    await expectEndedWithin(socket, Date.now());
  });

  it('are closed when the token expires', async () => {
    const token = await issueSendToken('brief', 3_000);
    const expiresAt = Date.parse(token.expiresAt);
    const socket = await eventually(() =>
      openWebSocket('/ws/brief', { headers: { authorization: `Bearer ${token.token}` } }),
    );
    const { at } = await socket.closed;
    expect(at).toBeGreaterThanOrEqual(expiresAt);
    await expectEndedWithin(socket, expiresAt);
  });
});

describe('connections carrying a revoked certificate', () => {
  it('HTTP/1.1: the connection, with a response in flight, is closed and the upstream request ends', async () => {
    const credential = await issueCertificate('kim');
    const before = seen.length;
    const socket = openRawH1(gw.port, { ca: gw.caPem, rejectUnauthorized: true, ...credential.tls });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', () => {});
    const closedAt = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    socket.write('GET /admin/hold HTTP/1.1\r\nhost: localhost\r\n\r\n');
    await eventually(() => text.includes('first'));
    await revokeWhileHeld(credential.serial, before, closedAt);
  });

  it('h2: the session, with a stream in flight, is closed and the upstream request ends', async () => {
    const credential = await issueCertificate('hugo');
    const before = seen.length;
    const session = h2connect(`https://127.0.0.1:${gw.port}`, {
      servername: 'localhost',
      ca: gw.caPem,
      ...credential.tls,
    });
    session.on('error', () => {});
    const closedAt = new Promise<number>((resolve) => session.on('close', () => resolve(Date.now())));
    const stream = session.request({ ':path': '/admin/hold', ':authority': 'localhost' });
    stream.on('error', () => {});
    await new Promise((resolve) => stream.once('data', resolve));
    await revokeWhileHeld(credential.serial, before, closedAt);
  });

  it('a certificate that was never revoked keeps its connection', async () => {
    const credential = await issueCertificate('steady');
    const session = h2connect(`https://127.0.0.1:${gw.port}`, {
      servername: 'localhost',
      ca: gw.caPem,
      ...credential.tls,
    });
    const get = () =>
      new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':path': '/admin/x', ':authority': 'localhost' });
        stream.on('response', (headers) => resolve(Number(headers[':status'])));
        stream.on('error', reject);
        stream.resume();
      });
    expect(await get()).toBe(200);
    const other = await issueCertificate('other');
    const reloads = async () =>
      (await gw.logLines()).filter((line) => String(line.msg).startsWith('crl reloaded')).length;
    const before = await reloads();
    expect((await runCli(['ca', 'revoke', other.serial], { dataDir: gw.dataDir })).code).toBe(0);
    // The gateway has seen the revocation (and swept its connections) once it reloaded the CRL.
    await eventually(async () => (await reloads()) > before);
    expect(await get()).toBe(200);
    session.close();
  });
});
