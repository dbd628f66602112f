import { createServer, type Server } from 'node:http';
import { type ClientHttp2Session, connect as h2connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { connect as netConnect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { openRawH1, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** Every client-side timeout of the gateway under test; each scenario outlasts all of them. */
const LIMIT_MS = 400;
/** Node adds this to the HTTP/1.1 keep-alive timeout before closing (HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER). */
const NODE_KEEP_ALIVE_BUFFER_MS = 1_000;
/** How long the upstream holds a long-poll: longer than every limit, well under the upstream timeout. */
const POLL_MS = 3 * LIMIT_MS;

let gw: TestGateway;
let upstream: Server;
/** Upload requests the upstream saw break off before their body ended (the gateway cancelled them). */
let uploadsCancelled = 0;
let uploadStarted: () => void = () => {};

beforeAll(async () => {
  // /poll waits POLL_MS after the body (if any) before answering, sending nothing meanwhile;
  // /upload answers with the number of body bytes once the body has ended.
  upstream = createServer((req, res) => {
    let bytes = 0;
    let ended = false;
    req.on('data', (chunk: Buffer) => {
      if (bytes === 0) uploadStarted();
      bytes += chunk.length;
    });
    req.on('end', () => {
      ended = true;
      const answer = () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`bytes=${bytes}`);
      if (req.url === '/poll') setTimeout(answer, POLL_MS);
      else answer();
    });
    res.on('close', () => {
      if (!ended) uploadsCancelled++;
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  gw = await startTestGateway({
    upstreams: {
      app: { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, timeoutMs: 10_000 },
    },
    routes: [{ path: '/', upstream: 'app', auth: 'public' }],
    limits: {
      handshakeTimeoutMs: LIMIT_MS,
      headersTimeoutMs: LIMIT_MS,
      keepAliveTimeoutMs: LIMIT_MS,
      bodyIdleTimeoutMs: LIMIT_MS,
    },
  });
});

afterAll(async () => {
  await gw?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RawConnection {
  socket: TLSSocket;
  /** Everything received, once the gateway closed the connection, and when (ms after `opened`). */
  closed: Promise<{ text: string; at: number }>;
  opened: number;
  /** What has arrived so far. */
  received: () => string;
}

/** An HTTP/1.1 TLS connection for byte-level tests. */
async function openHttp1(): Promise<RawConnection> {
  const socket = openRawH1(gw.port);
  await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const opened = performance.now();
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  socket.on('error', () => {});
  const closed = new Promise<{ text: string; at: number }>((resolve) =>
    socket.once('close', () => resolve({ text, at: performance.now() - opened })),
  );
  return { socket, closed, opened, received: () => text };
}

function openH2(): Promise<ClientHttp2Session> {
  const session = h2connect(gw.url, { servername: 'localhost', rejectUnauthorized: false });
  session.on('error', () => {});
  return new Promise((resolve, reject) =>
    session.once('connect', () => resolve(session)).once('error', reject),
  );
}

interface H2Result {
  status?: number;
  body: string;
  /** RST_STREAM code when the stream was reset instead of answered completely. */
  rstCode?: number;
}

/** Sends one h2 request; `send` writes the body (the stream is ended by `send`, or never). */
function h2Exchange(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  send?: (stream: NodeJS.WritableStream) => void,
): Promise<H2Result> {
  return new Promise((resolve) => {
    const stream = session.request(
      { ':authority': 'localhost', ...headers },
      { endStream: send === undefined },
    );
    const result: H2Result = { body: '' };
    stream.setEncoding('utf8');
    stream.on('response', (h) => {
      result.status = Number(h[':status']);
    });
    stream.on('data', (chunk: string) => {
      result.body += chunk;
    });
    stream.on('error', () => {});
    stream.on('close', () => {
      if (stream.rstCode) result.rstCode = stream.rstCode;
      resolve(result);
    });
    send?.(stream);
  });
}

/** Writes `count` chunks of 100 bytes, one every 100 ms, then ends. */
async function steadyUpload(stream: NodeJS.WritableStream, count: number) {
  for (let i = 0; i < count; i++) {
    stream.write('x'.repeat(100));
    await sleep(100);
  }
  stream.end();
}

/** Waits for `promise`, failing after `ms` instead of running into the test timeout. */
function within<T>(promise: Promise<T>, ms = LIMIT_MS + 3_000): Promise<T> {
  return Promise.race([
    promise,
    sleep(ms).then(() => {
      throw new Error(`not settled within ${ms} ms`);
    }),
  ]);
}

/** Sends `request` on a new HTTP/1.1 connection; what came back and when, once the gateway closed it. */
async function sentUntilClosed(request: string): Promise<{ text: string; at: number }> {
  const connection = await openHttp1();
  connection.socket.write(request);
  return within(connection.closed);
}

/** A connection cut `elapsed` ms after it started was cut by the limit: not before it, not long after. */
function expectCutAtLimit(elapsed: number): void {
  expect(elapsed).toBeGreaterThanOrEqual(LIMIT_MS - 50);
  expect(elapsed).toBeLessThan(LIMIT_MS + 1_500);
}

/** The access lines written so far. */
async function accessLines(): Promise<Array<Record<string, unknown>>> {
  return (await gw.logLines()).filter((l) => l.msg === 'request');
}

describe('slow and idle connections are cut', () => {
  it('a TCP connection that never starts the TLS handshake is closed after handshakeTimeoutMs', async () => {
    const socket = netConnect(gw.port, '127.0.0.1');
    const opened = performance.now();
    socket.on('error', () => {});
    await within(new Promise<void>((resolve) => socket.once('close', () => resolve())));
    const elapsed = performance.now() - opened;
    expectCutAtLimit(elapsed);
  });

  it('a request head that never finishes gets 408 and is closed after headersTimeoutMs', async () => {
    const { text, at } = await sentUntilClosed('GET /slow-head HTTP/1.1\r\nHost: localhost\r\nX-Part: ');
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expectCutAtLimit(at);
    await eventually(async () =>
      (await accessLines()).some((l) => l.denied === 'request_timeout' && l.status === 408),
    );
  });

  it('an idle HTTP/1.1 keep-alive connection is closed after keepAliveTimeoutMs', async () => {
    const connection = await openHttp1();
    connection.socket.write('GET /_mailgate/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await eventually(() => connection.received().includes('"status":"ok"'));
    const answered = performance.now() - connection.opened;
    const { text, at } = await within(connection.closed);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(at - answered).toBeGreaterThanOrEqual(LIMIT_MS - 50);
    expect(at - answered).toBeLessThan(LIMIT_MS + NODE_KEEP_ALIVE_BUFFER_MS + 1_000);
  });

  it('an idle h2 session gets a GOAWAY and is closed after keepAliveTimeoutMs', async () => {
    const session = await openH2();
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    expect((await h2Exchange(session, { ':path': '/_mailgate/healthz' })).status).toBe(200);
    const answered = performance.now();
    expect(await within(goaway)).toBe(0);
    await within(closed);
    const idle = performance.now() - answered;
    expectCutAtLimit(idle);
  });

  it('an h2 session that only sends PINGs is closed after keepAliveTimeoutMs all the same', async () => {
    const session = await openH2();
    const opened = performance.now();
    const pinger = setInterval(() => session.ping(() => {}), 100);
    await within(new Promise<void>((resolve) => session.once('close', () => resolve()))).finally(() =>
      clearInterval(pinger),
    );
    expect(performance.now() - opened).toBeLessThan(LIMIT_MS + 1_500);
  });

  it('a stalled HTTP/1.1 body gets 408 after bodyIdleTimeoutMs and the upstream request is cancelled', async () => {
    const before = uploadsCancelled;
    const started = new Promise<void>((resolve) => {
      uploadStarted = resolve;
    });
    const connection = await openHttp1();
    connection.socket.write(
      'POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n' + 'x'.repeat(100),
    );
    await started;
    const { text, at } = await within(connection.closed);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expectCutAtLimit(at);
    await eventually(() => uploadsCancelled === before + 1);
    await eventually(async () => (await accessLines()).some((l) => l.path === '/upload' && l.status === 408));
  });

  it('a stalled h2 body gets 408 or a reset after bodyIdleTimeoutMs and the upstream request is cancelled', async () => {
    const before = uploadsCancelled;
    const session = await openH2();
    const started = performance.now();
    const result = await within(
      h2Exchange(session, { ':method': 'POST', ':path': '/upload' }, (stream) => {
        stream.write('x'.repeat(100));
      }),
    );
    const elapsed = performance.now() - started;
    session.close();
    expect(result.status === 408 || result.rstCode !== undefined).toBe(true);
    expect(result.status).not.toBe(200);
    expectCutAtLimit(elapsed);
    await eventually(() => uploadsCancelled === before + 1);
  });
});

describe('slow but live clients are never cut', () => {
  // 100 bytes every 100 ms for 3x the limit: each pause is short, the whole upload is not.
  const chunks = Math.ceil((3 * LIMIT_MS) / 100);

  it('a slow but steady HTTP/1.1 upload longer than every timeout completes', async () => {
    const connection = await openHttp1();
    connection.socket.write(
      'POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
    );
    for (let i = 0; i < chunks; i++) {
      connection.socket.write(`64\r\n${'x'.repeat(100)}\r\n`);
      await sleep(100);
    }
    connection.socket.write('0\r\n\r\n');
    const { text } = await within(connection.closed);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toContain(`bytes=${chunks * 100}`);
  });

  it('a slow but steady h2 upload longer than every timeout completes', async () => {
    const session = await openH2();
    const result = await h2Exchange(session, { ':method': 'POST', ':path': '/upload' }, (stream) => {
      void steadyUpload(stream, chunks);
    });
    session.close();
    expect(result).toMatchObject({ status: 200, body: `bytes=${chunks * 100}` });
  });

  it('an HTTP/1.1 long-poll the upstream holds longer than every timeout completes', async () => {
    const { text, at } = await sentUntilClosed(
      'GET /poll HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(at).toBeGreaterThanOrEqual(POLL_MS - 50);
  });

  it('an HTTP/1.1 long-poll with a body (ActiveSync Ping) completes: the body timer ends with the body', async () => {
    const { text } = await sentUntilClosed(
      'POST /poll HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
    );
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toContain('bytes=5');
  });

  it('h2 long-polls, with and without a body, complete on an otherwise idle session', async () => {
    const session = await openH2();
    const [get, post] = await Promise.all([
      h2Exchange(session, { ':path': '/poll' }),
      h2Exchange(session, { ':method': 'POST', ':path': '/poll' }, (stream) => stream.end('hello')),
    ]);
    session.close();
    expect(get).toMatchObject({ status: 200, body: 'bytes=0' });
    expect(post).toMatchObject({ status: 200, body: 'bytes=5' });
  });
});
