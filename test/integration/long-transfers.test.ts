/**
 * Transfers that stretch the proxy: Expect: 100-continue answered by the upstream, 1xx informational
 * responses (103 Early Hints), HTTP/1.0 clients, Range requests against Apache, and a long-poll that
 * outlasts every client-side limit the gateway has.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as h2connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ApacheDav, startApacheDav } from '../helpers/apache-dav.js';
import { h2Request, openRawH1, rawRequest, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** Longer than every client-side limit below (and than the gap between keep-alive checks), shorter than the upstream budget. */
const POLL_MS = 2_500;
const CLIENT_LIMIT_MS = 400;
const EARLY_HINT = '</app.css>; rel=preload; as=style';

interface Seen {
  url: string;
  bodyBytes: number;
}

let upstream: Server;
let apache: ApacheDav;
let gw: TestGateway;
const seen: Seen[] = [];
let askedToContinue = false;
let abortedUploads = 0;
let grantContinue!: () => void;
const continueGranted = new Promise<void>((resolve) => {
  grantContinue = resolve;
});

function readBody(req: IncomingMessage, then: (bytes: number) => void) {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    seen.push({ url: req.url ?? '', bodyBytes: bytes });
    then(bytes);
  });
}

function answer(req: IncomingMessage, res: ServerResponse) {
  if (req.url === '/hints') {
    res.writeEarlyHints({ link: EARLY_HINT });
    res.end('page');
    return;
  }
  if (req.url === '/processing') {
    // RFC 2518's 102: a long PROPFIND or COPY telling the client it is still at work.
    res.writeProcessing();
    res.end('done');
    return;
  }
  if (req.url === '/poll') {
    // ActiveSync Ping: the answer comes when something changed, long after the request ended.
    readBody(req, () => setTimeout(() => res.end('changes'), POLL_MS));
    return;
  }
  readBody(req, (bytes) => res.end(`${req.method} ${req.url} HTTP/${req.httpVersion} ${bytes} bytes`));
}

beforeAll(async () => {
  upstream = createServer(answer);
  // The upstream decides on Expect: 100-continue (Node would grant it up front without this listener).
  upstream.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/abort-upload') {
      res.writeContinue();
      req.on('close', () => {
        if (!req.complete) abortedUploads++;
      });
      req.resume();
      return;
    }
    if (req.url === '/refuse') {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="dav"' }).end('no');
      return;
    }
    askedToContinue = true;
    continueGranted.then(() => {
      res.writeContinue();
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  apache = await startApacheDav();
  gw = await startTestGateway({
    upstreams: {
      app: { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, timeoutMs: POLL_MS * 4 },
      apache: { url: apache.url },
      // Port 1, as in the other files: a free port picked now could be bound by a test running beside this one.
      dead: { url: 'http://127.0.0.1:1' },
    },
    routes: [
      { path: '/', upstream: 'app', auth: 'public' },
      { path: '/files', upstream: 'apache', auth: 'public', stripPrefix: true },
      { path: '/dead', upstream: 'dead', auth: 'public' },
    ],
    limits: {
      headersTimeoutMs: CLIENT_LIMIT_MS,
      keepAliveTimeoutMs: CLIENT_LIMIT_MS,
      bodyIdleTimeoutMs: CLIENT_LIMIT_MS,
    },
  });
}, 30_000);

afterAll(async () => {
  await gw?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
  await apache?.close();
});

/** The gateway's connections to the test upstream, as `ss` lists them. */
function upstreamSockets(): string {
  const port = (upstream.address() as AddressInfo).port;
  return execFileSync('ss', ['-tanH', `( dport = :${port} )`], { encoding: 'utf8' });
}

/** A raw TLS HTTP/1.1 connection: what was received so far, byte for byte. */
function rawConnection(): Promise<{ socket: TLSSocket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = openRawH1(gw.port);
    socket.once('secureConnect', () => resolve({ socket, received: () => text, closed }));
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', reject);
  });
}

describe('Expect: 100-continue over TLS (HTTP/1.1)', () => {
  it('is answered by the upstream: no 100 until it grants one, then the body flows', async () => {
    const client = await rawConnection();
    client.socket.write(
      'PUT /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
    );
    await vi.waitFor(() => expect(askedToContinue).toBe(true), { timeout: 10_000, interval: 20 });
    // The upstream holds the request: whatever the gateway sent so far came on its own.
    expect(client.received()).toBe('');
    grantContinue();
    await vi.waitFor(() => expect(client.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/), {
      timeout: 10_000,
      interval: 20,
    });
    client.socket.write('hello');
    await client.closed;
    expect(client.received()).toMatch(/\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    expect(client.received()).toContain('PUT /upload HTTP/1.1 5 bytes');
  });

  it('lets the upstream refuse before the body is sent, and the connection is not left half-read', async () => {
    const client = await rawConnection();
    client.socket.write(
      'PUT /refuse HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n',
    );
    await vi.waitFor(() => expect(client.received()).toMatch(/^HTTP\/1\.1 401 /), {
      timeout: 10_000,
      interval: 20,
    });
    await client.closed;
    expect(client.received()).not.toContain('100 Continue');
    expect(client.received()).toContain('www-authenticate: Basic realm="dav"');
    expect(seen.some((s) => s.url === '/refuse')).toBe(false);
    // The upstream connection that carried the refused request is not left waiting for a body.
    await vi.waitFor(() => expect(upstreamSockets()).not.toMatch(/ESTAB/), { timeout: 10_000, interval: 50 });
  });
});

describe('Expect: 100-continue, other paths', () => {
  it("on h2, the upstream's 100 reaches the client as an informational HEADERS frame", async () => {
    grantContinue();
    const session = h2connect(`https://127.0.0.1:${gw.port}`, {
      servername: 'localhost',
      rejectUnauthorized: false,
    });
    try {
      const stream = session.request(
        {
          ':method': 'PUT',
          ':path': '/upload-h2',
          ':authority': 'localhost',
          expect: '100-continue',
          'content-length': '3',
        },
        { endStream: false },
      );
      await new Promise((resolve) => stream.once('continue', resolve));
      stream.end('abc');
      let body = '';
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      await new Promise((resolve) => stream.on('end', resolve));
      expect(body).toBe('PUT /upload-h2 HTTP/1.1 3 bytes');
    } finally {
      session.close();
    }
  });

  it('a client that leaves mid-upload after the 100 cancels the upstream request, which leaves no socket', async () => {
    const client = await rawConnection();
    client.socket.write(
      'PUT /abort-upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n',
    );
    await vi.waitFor(() => expect(client.received()).toContain('100 Continue'), {
      timeout: 10_000,
      interval: 20,
    });
    client.socket.write(Buffer.alloc(100_000, 'x'));
    client.socket.destroy();
    await vi.waitFor(() => expect(abortedUploads).toBe(1), { timeout: 10_000, interval: 20 });
    await vi.waitFor(() => expect(upstreamSockets()).not.toMatch(/ESTAB/), { timeout: 10_000, interval: 50 });

    const after = await rawRequest(
      gw.port,
      'GET /alive HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    expect(after.status).toBe(200);
  });

  it('an unreachable upstream is a 502 without a 100, and the gateway keeps serving', async () => {
    const client = await rawConnection();
    client.socket.write(
      'PUT /dead/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n',
    );
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 502 /);
    const after = await rawRequest(
      gw.port,
      'GET /alive HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    expect(after.status).toBe(200);
  });
});

describe('1xx informational responses', () => {
  it('relays 103 Early Hints before the final response on HTTP/1.1', async () => {
    const response = await rawRequest(
      gw.port,
      'GET /hints HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    expect(response.raw).toMatch(
      new RegExp(
        `^HTTP/1\\.1 103 Early Hints\\r\\nlink: ${escapeRegExp(EARLY_HINT)}\\r\\n\\r\\nHTTP/1\\.1 200 OK\\r\\n`,
        'i',
      ),
    );
    expect(response.raw.endsWith('page')).toBe(true);
  });

  it('relays 103 Early Hints as an informational HEADERS frame on h2', async () => {
    const { informational, status, body } = await h2Request(gw.port, { ':path': '/hints' });
    expect(informational).toHaveLength(1);
    expect(informational[0]).toMatchObject({ ':status': 103, link: EARLY_HINT });
    expect(status).toBe(200);
    expect(body).toBe('page');
  });

  it('relays 102 Processing on HTTP/1.1 and h2', async () => {
    const h1 = await rawRequest(
      gw.port,
      'GET /processing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    expect(h1.raw).toMatch(/^HTTP\/1\.1 102 Processing\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    const { informational } = await h2Request(gw.port, { ':path': '/processing' });
    expect(informational).toMatchObject([{ ':status': 102 }]);
  });

  it('sends no 1xx to an HTTP/1.0 client, which could not read it', async () => {
    const response = await rawRequest(gw.port, 'GET /hints HTTP/1.0\r\nHost: localhost\r\n\r\n');
    expect(response.raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(response.body).toBe('page');
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\<>]/g, '\\$&');
}

describe('HTTP/1.0 clients', () => {
  it('get their response, with or without Host, and a body they send arrives whole', async () => {
    const bare = await rawRequest(gw.port, 'GET /old HTTP/1.0\r\n\r\n');
    expect(bare.status).toBe(200);
    expect(bare.body).toBe('GET /old HTTP/1.1 0 bytes');
    // Without keep-alive the connection ends with the response: the body is framed by the close.
    const posted = await rawRequest(
      gw.port,
      'POST /old-post HTTP/1.0\r\nHost: localhost\r\nContent-Length: 11\r\n\r\nhello world',
    );
    expect(posted.status).toBe(200);
    expect(posted.body).toBe('POST /old-post HTTP/1.1 11 bytes');
    expect(posted.headers['transfer-encoding']).toBeUndefined();
  });
});

describe('Range requests (Apache behind the gateway)', () => {
  const content = Buffer.from(
    Array.from({ length: 100 }, (_, i) => String.fromCharCode(48 + (i % 10))).join(''),
  );

  beforeAll(async () => {
    const put = await rawRequest(
      gw.port,
      `PUT /files/range.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${content.length}\r\nConnection: close\r\n\r\n${content}`,
    );
    expect(put.status).toBe(201);
  });

  const get = (headers: string) =>
    rawRequest(
      gw.port,
      `GET /files/range.txt HTTP/1.1\r\nHost: localhost\r\n${headers}Connection: close\r\n\r\n`,
    );

  it('passes single, suffix and multiple ranges and If-Range as the upstream answers them', async () => {
    const single = await get('Range: bytes=10-19\r\n');
    expect(single.status).toBe(206);
    expect(single.headers['content-range']).toBe('bytes 10-19/100');
    expect(single.body).toBe(content.subarray(10, 20).toString());

    const suffix = await get('Range: bytes=-5\r\n');
    expect(suffix.status).toBe(206);
    expect(suffix.body).toBe(content.subarray(95).toString());

    const multiple = await get('Range: bytes=0-1,50-51\r\n');
    expect(multiple.status).toBe(206);
    expect(multiple.headers['content-type']).toMatch(/^multipart\/byteranges; boundary=/);
    expect(multiple.body).toContain('Content-range: bytes 50-51/100');

    // If-Range with the current validator: as Apache answers it directly (it weakens the ETag of a file
    // written within the second, and a weak one never matches).
    const etag = (await get('')).headers.etag!;
    const direct = await fetch(`${apache.url}/range.txt`, {
      headers: { range: 'bytes=0-0', 'if-range': etag },
    });
    await direct.arrayBuffer();
    expect((await get(`Range: bytes=0-0\r\nIf-Range: ${etag}\r\n`)).status).toBe(direct.status);
    expect((await get('Range: bytes=0-0\r\nIf-Range: "stale"\r\n')).status).toBe(200);
    expect((await get('Range: bytes=500-600\r\n')).status).toBe(416);
  });
});

describe('a long-poll', () => {
  // A real ActiveSync Ping waits up to ~10 minutes. What could cut it is a client-side timer; all of them
  // are set far below the poll here, so a poll that outlasts them by several times shows none applies
  // once the request has been read: the upstream budget (timeoutMs, Mailcow: an hour) is the only one.
  it(`is answered after ${POLL_MS} ms though headers, body idle and keep-alive limits are ${CLIENT_LIMIT_MS} ms (HTTP/1.1 and h2)`, async () => {
    const started = performance.now();
    const h1 = rawRequest(
      gw.port,
      'POST /poll HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping',
    );
    const session = h2connect(`https://127.0.0.1:${gw.port}`, {
      servername: 'localhost',
      rejectUnauthorized: false,
    });
    const h2 = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': '/poll', ':authority': 'localhost' });
      let status = 0;
      let body = '';
      stream.on('response', (headers) => {
        status = Number(headers[':status']);
      });
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      stream.on('end', () => resolve({ status, body }));
      stream.on('error', reject);
      stream.end('ping');
    });
    try {
      const [viaH1, viaH2] = await Promise.all([h1, h2]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(POLL_MS - 50);
      expect(viaH1.status).toBe(200);
      expect(viaH1.body).toBe('changes');
      expect(viaH2).toEqual({ status: 200, body: 'changes' });
    } finally {
      session.close();
    }
  }, 30_000);
});
