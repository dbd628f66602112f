import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { h2Request, openRawH1, rawRequest, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** The upstream's timeout; every scenario that must pass lasts at least three times as long. */
const TIMEOUT_MS = 500;
const LARGE_BYTES = 32 * 1024 * 1024;

let gw: TestGateway;
let upstream: Server;
const upgrades: Duplex[] = [];

beforeAll(async () => {
  // /hang never answers; /stall sends its headers and one chunk, then nothing; /large sends LARGE_BYTES;
  // /count answers with the number of body bytes once the body has ended. Upgrades are never answered.
  upstream = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      if (req.url === '/hang') return;
      if (req.url === '/stall') {
        res.writeHead(200, { 'content-type': 'text/plain' }).write('first\n');
        return;
      }
      if (req.url === '/moved') {
        res
          .writeHead(302, {
            location: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/elsewhere`,
          })
          .end();
        return;
      }
      if (req.url === '/large') {
        res.writeHead(200, { 'content-length': LARGE_BYTES }).end(Buffer.alloc(LARGE_BYTES, 'x'));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`bytes=${bytes}`);
    });
  });
  upstream.on('upgrade', (_req, socket) => upgrades.push(socket));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  gw = await startTestGateway({
    upstreams: {
      app: { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, timeoutMs: TIMEOUT_MS },
    },
    routes: [{ path: '/', upstream: 'app', auth: 'public' }],
  });
});

afterAll(async () => {
  await gw?.close();
  // Upgraded sockets are no longer the HTTP server's: it would wait for them forever.
  for (const socket of upgrades) socket.destroy();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function upstreamErrors(kind: string): Promise<number> {
  const text = await gw.gateway.metrics.registry.metrics();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('mailgate_upstream_errors_total{') && l.includes(`kind="${kind}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** A GET through the gateway; `onResponse` may pause reading before the body is collected. */
function get(path: string, onResponse?: (res: IncomingMessage) => Promise<void>) {
  return new Promise<{ status: number; body: string; bytes: number; aborted: boolean }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: gw.port, path, servername: 'localhost', rejectUnauthorized: false },
      async (res) => {
        if (onResponse) await onResponse(res);
        let body = '';
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (body.length < 1024) body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, bytes, aborted: false }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body, bytes, aborted: true }));
        res.on('aborted', () => resolve({ status: res.statusCode ?? 0, body, bytes, aborted: true }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

// An h2 exchange lets go of its inbound headers once they went upstream (Http2Exchange.headersForwarded):
// what is read after that, Accept for an error page and the authority for a Location, must still be right.
describe('over h2, after the request went upstream', () => {
  it("a 504 is rendered for the request's Accept", async () => {
    const json = await h2Request(gw.port, { ':path': '/hang', accept: 'application/json' });
    expect(json.status).toBe(504);
    expect(json.headers['content-type']).toMatch(/json/);
    expect(JSON.parse(json.body)).toMatchObject({ error: { status: 504, code: 'upstream_timeout' } });
    const html = await h2Request(gw.port, { ':path': '/hang', accept: 'text/html' });
    expect(html.status).toBe(504);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
  });

  it("a Location naming the upstream is moved to the request's authority, as over HTTP/1.1", async () => {
    const h2 = await h2Request(gw.port, { ':path': '/moved', ':authority': 'mail.example.test' });
    expect(h2.status).toBe(302);
    expect(h2.headers.location).toBe('https://mail.example.test/elsewhere');
    const h1 = await rawRequest(
      gw.port,
      'GET /moved HTTP/1.1\r\nHost: mail.example.test\r\nConnection: close\r\n\r\n',
    );
    expect(h1.headers.location).toBe(h2.headers.location);
  });
});

describe('upstream timeouts', () => {
  it('504 when the response headers do not come in time', async () => {
    const before = await upstreamErrors('headers_timeout');
    const started = Date.now();
    const response = await get('/hang');
    expect(response.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(await upstreamErrors('headers_timeout')).toBe(before + 1);
  });

  it('a response body that stalls is cut off after the timeout', async () => {
    const before = await upstreamErrors('body_timeout');
    const response = await get('/stall');
    expect(response.status).toBe(200);
    expect(response.body).toBe('first\n');
    expect(response.aborted).toBe(true);
    expect(await upstreamErrors('body_timeout')).toBe(before + 1);
  });

  it('an upload slower than the timeout still gets its answer (the deadline waits for the client)', async () => {
    const result = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: gw.port,
          path: '/count',
          method: 'POST',
          servername: 'localhost',
          rejectUnauthorized: false,
          headers: { 'transfer-encoding': 'chunked' },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => {
            text += chunk;
          });
          res.on('end', () => resolve(`${res.statusCode} ${text}`));
        },
      );
      req.on('error', reject);
      (async () => {
        for (let i = 0; i < 8; i++) {
          req.write('0123456789');
          await sleep(TIMEOUT_MS / 2.5);
        }
        req.end();
      })();
    });
    expect(result).toBe('200 bytes=80');
  });

  it('a client that reads slower than the timeout still gets the whole body', async () => {
    const response = await get('/large', async (res) => {
      res.pause();
      await sleep(3 * TIMEOUT_MS);
      res.resume();
    });
    expect(response.aborted).toBe(false);
    expect(response.bytes).toBe(LARGE_BYTES);
  });

  it('504 when the upstream never answers a WebSocket upgrade', async () => {
    const response = await rawRequest(
      gw.port,
      'GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    expect(response.status).toBe(504);
  });

  it('a WebSocket client that leaves mid-handshake is an abort, not an upstream failure', async () => {
    const socketBefore = await upstreamErrors('socket');
    const abortedBefore = await upstreamErrors('aborted');
    const upgradesBefore = upgrades.length;
    const client = openRawH1(gw.port);
    client.on('error', () => {});
    client.write(
      'GET /ws/leaving HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    // The upstream holds the upgrade request; the client gives up before any answer.
    await eventually(() => upgrades.length > upgradesBefore);
    // The upstream's HTTP server keeps upgraded sockets half-open: the gateway's end shows as 'end'.
    let upstreamEnded = false;
    upgrades.at(-1)!.once('end', () => {
      upstreamEnded = true;
    });
    upgrades.at(-1)!.resume();
    client.destroy();
    // The gateway cancels the upstream request: its connection to the upstream is closed.
    await eventually(() => upstreamEnded);
    const line = await eventually(async () =>
      (await gw.logLines('/ws/leaving')).find((l) => l.msg === 'request' && l.path === '/ws/leaving'),
    );
    expect(line).toMatchObject({ status: 499 });
    expect(await upstreamErrors('aborted')).toBe(abortedBefore + 1);
    expect(await upstreamErrors('socket')).toBe(socketBefore);
    // Still serving.
    expect((await get('/count')).status).toBe(200);
  });
});
