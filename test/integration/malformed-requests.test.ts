import { constants, connect as h2connect } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EchoUpstream } from '../helpers/echo-upstream.js';
import { type EchoGateway, rawGet, rawRequest, startEchoGateway } from '../helpers/gateway.js';

const MAX_HEADER_BYTES = 4_096;
const MAX_HEADER_COUNT = 20;

let echo: EchoUpstream;
let gw: EchoGateway;

beforeAll(async () => {
  gw = await startEchoGateway({
    limits: { maxHeaderBytes: MAX_HEADER_BYTES, maxHeaderCount: MAX_HEADER_COUNT },
  });
  echo = gw.echo;
});

afterEach(async () => {
  // Whatever a client sent, the gateway still serves the next one.
  expect((await rawGet(gw.port, '/_mailgate/healthz')).status).toBe(200);
});

/** Access lines with `denied` (refusals before the pipeline) written after the first `since` log lines. */
async function refusalLines(since: number) {
  // Lines are written when the connection closes, which may be after the client saw the close.
  for (let attempt = 0; attempt < 50; attempt++) {
    const lines = (await gw.logLines())
      .slice(since)
      .filter((l) => l.msg === 'request' && l.denied !== undefined);
    if (lines.length > 0) return lines;
  }
  return [];
}

/** Sends `request` as is; returns the status (0: closed without an answer) and the new refusal lines. */
async function send(request: string) {
  const since = (await gw.logLines()).length;
  const before = echo.received.length;
  const response = await rawRequest(gw.port, request);
  return { response, reachedUpstream: echo.received.length > before, since };
}

const flood = (count: number, valueLength: number) =>
  Array.from({ length: count }, (_, i) => `X-Flood-${i}: ${'v'.repeat(valueLength)}\r\n`).join('');

describe('HTTP/1.1 requests the parser rejects are answered as Node would, with one access line', () => {
  const cases: Array<[string, number, string, string]> = [
    ['a bad request line', 400, 'malformed_request', 'G@T / HTTP/1.1\r\nHost: localhost\r\n\r\n'],
    [
      'a control character in a header name',
      400,
      'malformed_request',
      'GET / HTTP/1.1\r\nHost: localhost\r\nX-B\u0001d: 1\r\n\r\n',
    ],
    [
      'a NUL in a header value',
      400,
      'malformed_request',
      'GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\u0000b\r\n\r\n',
    ],
    [
      'Content-Length together with Transfer-Encoding (smuggling)',
      400,
      'malformed_request',
      'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    [
      'headers over maxHeaderBytes',
      431,
      'headers_too_large',
      `GET / HTTP/1.1\r\nHost: localhost\r\n${flood(10, MAX_HEADER_BYTES / 8)}\r\n`,
    ],
  ];

  it.each(cases)('%s gets %i (%s) and a closed connection', async (_name, status, reason, request) => {
    const { response, reachedUpstream, since } = await send(request);
    expect(response.status).toBe(status);
    expect(response.headers.connection).toBe('close');
    expect(reachedUpstream).toBe(false);
    const lines = await refusalLines(since);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status, denied: reason, route: 'none', client: '127.0.0.1' });
    expect(JSON.stringify(lines[0])).not.toMatch(/stack|HPE_/);
  });

  it('more header fields than maxHeaderCount (each small) get 431 and one access line', async () => {
    const { response, reachedUpstream, since } = await send(
      `GET /many HTTP/1.1\r\nHost: localhost\r\n${flood(MAX_HEADER_COUNT + 5, 1)}\r\n`,
    );
    expect(response.status).toBe(431);
    expect(reachedUpstream).toBe(false);
    const lines = await refusalLines(since);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status: 431, method: 'GET', denied: 'too_many_headers' });
  });

  it('exactly maxHeaderCount header fields pass', async () => {
    const { response, reachedUpstream } = await send(
      `GET /fits HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${flood(MAX_HEADER_COUNT - 2, 1)}\r\n`,
    );
    expect(response.status).toBe(200);
    expect(reachedUpstream).toBe(true);
  });

  it('a bad chunk size gets 400; the request in flight keeps its own single access line', async () => {
    const since = (await gw.logLines()).length;
    const before = echo.received.length;
    const response = await rawRequest(
      gw.port,
      'POST /chunks HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
    );
    expect(response.status).toBe(400);
    const lines = (await gw.logLines('"path":"/chunks"'))
      .slice(since)
      .filter((l) => l.msg === 'request' && l.path === '/chunks');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ path: '/chunks', status: 499 });
    // The upstream never saw a complete request.
    expect(echo.received.length).toBe(before);
  });
});

describe('h2 clients that break the protocol', () => {
  it('garbage instead of the h2 connection preface closes the connection', async () => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: gw.port,
      servername: 'localhost',
      ALPNProtocols: ['h2'],
      rejectUnauthorized: false,
    });
    socket.on('error', () => {});
    // Read what the server sends (its SETTINGS and GOAWAY), or 'close' never comes.
    socket.resume();
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    expect(socket.alpnProtocol).toBe('h2');
    socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await Promise.race([
      closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('still open after 3 s')), 3_000)),
    ]);
  });

  it('more header fields than maxHeaderCount reset the stream, not the session', async () => {
    const session = h2connect(gw.url, { servername: 'localhost', rejectUnauthorized: false });
    session.on('error', () => {});
    const headers: Record<string, string> = { ':path': '/h2-many', ':authority': 'localhost' };
    for (let i = 0; i < MAX_HEADER_COUNT + 5; i++) headers[`x-flood-${i}`] = 'v';
    const before = echo.received.length;
    const outcome = await new Promise<{ status?: number; rstCode?: number }>((resolve) => {
      const stream = session.request(headers);
      let status: number | undefined;
      stream.on('response', (h) => {
        status = Number(h[':status']);
      });
      stream.on('error', () => {});
      stream.resume();
      stream.on('close', () => resolve({ status, rstCode: stream.rstCode }));
    });
    // nghttp2 refuses the stream before any response: RST_STREAM ENHANCE_YOUR_CALM.
    expect(outcome).toEqual({ status: undefined, rstCode: constants.NGHTTP2_ENHANCE_YOUR_CALM });
    expect(echo.received.length).toBe(before);
    // The session still carries a request with exactly maxHeaderCount fields (pseudo-headers aside).
    const fits: Record<string, string> = { ':path': '/h2-fits', ':authority': 'localhost' };
    for (let i = 0; i < MAX_HEADER_COUNT; i++) fits[`x-fits-${i}`] = 'v';
    const ok = await new Promise<number>((resolve) => {
      const stream = session.request(fits);
      stream.on('response', (h) => resolve(Number(h[':status'])));
      stream.resume();
    });
    session.close();
    expect(ok).toBe(200);
  });
});
