/**
 * Client aborts reach the upstream (HTTP/1.1 and h2), h2 is bounded, and upstream pools are shared fairly:
 * asserted on the upstream's side (what it received, its sockets) over real TLS.
 */
import { constants as h2, connect as h2connect } from 'node:http2';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import {
  fromAddress,
  h2Exchange,
  h2Request,
  openRawH1,
  rawGet,
  startTestGateway,
  type TestGateway,
} from '../helpers/gateway.js';
import { FLAG, FRAME, frame, headerBlock, openRawH2, postHeaders, u32 } from '../helpers/raw-h2.js';

const CONNECTIONS = 4;
/** limits.upstreamRequestsPerClient: half of the four connections. */
const PER_CLIENT = 2;
const QUEUE_TIMEOUT_MS = 500;
const STREAMS = 10;

let echo: EchoUpstream;
let gw: TestGateway;

beforeAll(async () => {
  echo = await startEchoUpstream();
  gw = await startTestGateway({
    upstreams: { app: { url: echo.url, connections: CONNECTIONS } },
    routes: [{ path: '/', upstream: 'app', auth: 'public' }],
    limits: {
      h2MaxConcurrentStreams: STREAMS,
      upstreamRequestsPerClient: '50%',
      upstreamQueueTimeoutMs: QUEUE_TIMEOUT_MS,
      clientRequestsPerMinute: 0,
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await echo?.close();
});

/** A 503 upstream_busy: the request found no room in the upstream's pool. */
function expectUpstreamBusy(response: { status: number; body: string }): void {
  expect(response.status).toBe(503);
  expect(JSON.parse(response.body).error.code).toBe('upstream_busy');
}

/** An h2 session from `localAddress` (any 127/8 address is this machine). */
function h2Session(localAddress = '127.0.0.1', gateway = gw) {
  const session = h2connect(gateway.url, {
    rejectUnauthorized: false,
    servername: 'localhost',
    createConnection: () =>
      tlsConnect({
        // tls.connect passes net options through (its types leave localAddress out).
        host: '127.0.0.1',
        port: gateway.port,
        localAddress,
        servername: 'localhost',
        ALPNProtocols: ['h2'],
        rejectUnauthorized: false,
      } as ConnectionOptions),
  });
  session.on('error', () => {});
  return session;
}

/** Opens `count` /hang streams on `session` and waits until the upstream holds them all. */
async function hang(session: ReturnType<typeof h2Session>, count: number) {
  const before = echo.received.filter((r) => r.url === '/hang').length;
  const streams = Array.from({ length: count }, () => {
    const stream = session.request({ ':path': '/hang', ':authority': 'localhost' });
    stream.on('error', () => {});
    return stream;
  });
  await eventually(() => echo.received.filter((r) => r.url === '/hang').length === before + count);
  return streams;
}

describe('client aborts end the upstream request', () => {
  it('an h2 stream reset while the upstream is answering cancels it and frees its pool connection', async () => {
    const session = h2Session();
    const cancelled = echo.hangsCancelled();
    const [stream] = await hang(session, 1);
    stream!.close(h2.NGHTTP2_CANCEL);
    await eventually(() => echo.hangsCancelled() === cancelled + 1);
    await eventually(() => echo.socketsIn('close-wait') === 0);
    expect((await h2Request(gw.port, { ':path': '/after-reset' })).status).toBe(200);
    // The session that reset (its requests now wait for the end of their read) goes on being served,
    // uploads included.
    const after = await h2Exchange(session, { ':path': '/same-session', ':method': 'POST' }, 'still here');
    expect(after.status).toBe(200);
    expect(echo.received.filter((r) => r.url === '/same-session').map((r) => r.body)).toEqual(['still here']);
    session.close();
  });

  it('a closed HTTP/1.1 connection cancels the upstream request', async () => {
    const cancelled = echo.hangsCancelled();
    const socket = openRawH1(gw.port);
    socket.on('error', () => {});
    const before = echo.received.filter((r) => r.url === '/hang').length;
    socket.write('GET /hang HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await eventually(() => echo.received.filter((r) => r.url === '/hang').length === before + 1);
    socket.destroy();
    await eventually(() => echo.hangsCancelled() === cancelled + 1);
    await eventually(() => echo.socketsIn('close-wait') === 0);
  });

  // NO_ERROR too: Node ends a stream closed with NO_ERROR as if its body were complete (it pushes its end).
  it.each([
    ['CANCEL', h2.NGHTTP2_CANCEL],
    ['NO_ERROR', h2.NGHTTP2_NO_ERROR],
  ])(
    'an upload cut off by an h2 reset (%s) never reaches the upstream as a complete request',
    async (name, code) => {
      // Raw frames: Node's client sends END_STREAM before its RST_STREAM, a complete body after all.
      const socket = await openRawH2(gw.port);
      socket.on('error', () => {});
      const path = `/cut-h2-${name}`;
      socket.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, headerBlock(postHeaders(path))));
      socket.write(frame(FRAME.DATA, 0, 1, Buffer.from('first part of the body;')));
      // Let the first part travel through the gateway to the upstream, then reset the stream.
      await new Promise((resolve) => setTimeout(resolve, 300));
      socket.write(frame(FRAME.RST_STREAM, 0, 1, u32(code)));
      // The access line closes the exchange; the upstream has had its request end by then.
      const [line] = (await gw.logLines(path)).filter((l) => l.path === path);
      expect(line).toMatchObject({ status: 499, aborted: true });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(echo.received.filter((r) => r.url === path)).toEqual([]);
      await eventually(() => echo.socketsIn('close-wait') === 0);
      expect((await h2Request(gw.port, { ':path': '/after-cut' })).status).toBe(200);
      socket.destroy();
    },
  );

  it('an h2 upload ended (END_STREAM) and then reset: the upstream has the whole body, and its request is cancelled at once', async () => {
    const socket = await openRawH2(gw.port);
    socket.on('error', () => {});
    const cancelled = echo.hangsCancelled();
    const before = echo.received.filter((r) => r.url === '/hang').length;
    socket.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, headerBlock(postHeaders('/hang'))));
    socket.write(frame(FRAME.DATA, FLAG.END_STREAM, 1, Buffer.from('the whole body')));
    // The body is complete at the protocol level: the upstream gets all of it and starts to answer.
    await eventually(() => echo.received.filter((r) => r.url === '/hang').length === before + 1);
    expect(echo.received.filter((r) => r.url === '/hang').at(-1)!.body).toBe('the whole body');
    socket.write(frame(FRAME.RST_STREAM, 0, 1, u32(h2.NGHTTP2_CANCEL)));
    // The reset still cancels the upstream request (its connection closed, not left to answer into nothing).
    await eventually(() => echo.hangsCancelled() === cancelled + 1);
    await eventually(() => echo.socketsIn('close-wait') === 0);
    const lines = await gw.logLines('"status":499');
    expect(lines.filter((l) => l.path === '/hang' && l.status === 499).length).toBeGreaterThan(0);
    expect((await h2Request(gw.port, { ':path': '/after-ended-reset' })).status).toBe(200);
    socket.destroy();
  });

  it('an HTTP/1.1 chunked upload cut off by a closed connection is not completed upstream', async () => {
    const socket = openRawH1(gw.port);
    socket.on('error', () => {});
    socket.write(
      'POST /cut-h1 HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.destroy();
    await gw.logLines('/cut-h1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(echo.received.filter((r) => r.url === '/cut-h1')).toEqual([]);
  });
});

describe('bounded h2 and fair pools', () => {
  it('announces limits.h2MaxConcurrentStreams and refuses streams past it', async () => {
    const session = h2Session();
    await new Promise((resolve) => session.once('remoteSettings', resolve));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(STREAMS);
    session.close();
  });

  it('one address gets 503 past its in-flight share while another address is still served', async () => {
    const session = h2Session('127.0.0.1');
    const held = await hang(session, PER_CLIENT);
    const over = await h2Request(gw.port, { ':path': '/one-more' });
    expectUpstreamBusy(over);
    const other = await rawGet(gw.port, '/other-address', {}, fromAddress('127.0.0.2'));
    expect(other.status).toBe(200);
    const lines = await gw.logLines('client_inflight');
    expect(lines.filter((l) => l.denied === 'client_inflight')).toHaveLength(1);
    for (const stream of held) stream.close(h2.NGHTTP2_CANCEL);
    session.close();
    await eventually(async () => (await h2Request(gw.port, { ':path': '/after' })).status === 200);
  });

  it('a request that finds every upstream connection busy gets 503 after limits.upstreamQueueTimeoutMs', async () => {
    // Two addresses, two requests each: the whole pool of four.
    const sessions = [h2Session('127.0.0.3'), h2Session('127.0.0.4')];
    const held = [...(await hang(sessions[0]!, 2)), ...(await hang(sessions[1]!, 2))];
    const started = Date.now();
    const waited = await rawGet(gw.port, '/queued', {}, fromAddress('127.0.0.5'));
    expectUpstreamBusy(waited);
    expect(Date.now() - started).toBeGreaterThanOrEqual(QUEUE_TIMEOUT_MS - 50);
    const lines = await gw.logLines('queue_timeout');
    expect(lines.filter((l) => l.path === '/queued' && l.failure === 'queue_timeout')).toHaveLength(1);
    for (const stream of held) stream.close(h2.NGHTTP2_CANCEL);
    for (const session of sessions) session.close();
    // The queued request never reaches the upstream, and the pool serves again.
    await eventually(async () => (await rawGet(gw.port, '/after-queue')).status === 200);
    expect(echo.received.filter((r) => r.url === '/queued')).toEqual([]);
  });

  it('requests an address gave up on while they wait for a connection stay in its share until undici lets go of them', async () => {
    // Two addresses, two requests each: the whole pool of four.
    const sessions = [h2Session('127.0.0.3'), h2Session('127.0.0.4')];
    const held = [...(await hang(sessions[0]!, 2)), ...(await hang(sessions[1]!, 2))];
    const leaver = fromAddress('127.0.0.8');
    // One request reset while it waits for a connection, one answered 503 at the queue timeout: both still
    // wait in the pool's queue, and the address's share of two is used up by them.
    const session = h2Session('127.0.0.8');
    const reset = session.request({ ':path': '/gave-up', ':authority': 'localhost' });
    reset.on('error', () => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    reset.close(h2.NGHTTP2_CANCEL);
    expect((await gw.logLines('/gave-up')).find((l) => l.path === '/gave-up')).toMatchObject({ status: 499 });
    expectUpstreamBusy(await h2Request(gw.port, { ':path': '/timed-out' }, leaver));
    const timedOut = await gw.logLines('/timed-out');
    expect(timedOut.find((l) => l.path === '/timed-out')).toMatchObject({ failure: 'queue_timeout' });
    // A third is refused at once, never queued: resets and timeouts cannot grow the queue.
    const started = Date.now();
    expectUpstreamBusy(await h2Request(gw.port, { ':path': '/over-share' }, leaver));
    expect(Date.now() - started).toBeLessThan(QUEUE_TIMEOUT_MS);
    const lines = await gw.logLines('/over-share');
    expect(lines.find((l) => l.path === '/over-share')).toMatchObject({ denied: 'client_inflight' });
    // Freed, the pool cancels the abandoned two before a byte is written and the address is served again.
    for (const stream of held) stream.close(h2.NGHTTP2_CANCEL);
    for (const holder of [...sessions, session]) holder.close();
    await eventually(async () => (await h2Request(gw.port, { ':path': '/back' }, leaver)).status === 200);
    const abandoned = ['/gave-up', '/timed-out', '/over-share'];
    expect(echo.received.filter((r) => abandoned.includes(r.url))).toEqual([]);
  });
});

describe('the default per-client share of a pool', () => {
  let defaults: TestGateway;
  beforeAll(async () => {
    defaults = await startTestGateway({
      upstreams: { app: { url: echo.url } },
      routes: [{ path: '/', upstream: 'app', auth: 'public' }],
    });
  });
  afterAll(() => defaults?.close());

  it('one address (an office NAT) holds 96 long-polls of the 128 connections; the 97th gets 503, another address is served', async () => {
    const office = h2Session('127.0.0.6', defaults);
    const cancelled = echo.hangsCancelled();
    const held = await hang(office, 96);
    const over = await h2Request(defaults.port, { ':path': '/one-too-many' }, fromAddress('127.0.0.6'));
    expectUpstreamBusy(over);
    const other = await rawGet(defaults.port, '/other-office', {}, fromAddress('127.0.0.7'));
    expect(other.status).toBe(200);
    for (const stream of held) stream.close(h2.NGHTTP2_CANCEL);
    office.close();
    await eventually(() => echo.hangsCancelled() === cancelled + 96);
    expect(echo.received.filter((r) => r.url === '/one-too-many')).toEqual([]);
  });
});
