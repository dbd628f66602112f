import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { type ClientOptions } from 'ws';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { h2Request, rawGet, rawRequest, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { FLAG, FRAME, frame, headerBlock, openRawH2, postHeaders, readFrames } from '../helpers/raw-h2.js';

let echo: EchoUpstream;
let gw: TestGateway;

beforeAll(async () => {
  echo = await startEchoUpstream();
  gw = await startTestGateway({
    admin: { sourceCidrs: ['127.0.0.2/32'] },
    upstreams: {
      app: { url: echo.url, timeoutMs: 1_500 },
      dead: { url: 'http://127.0.0.1:1', connectTimeoutMs: 500 },
    },
    routes: [
      { path: '/admin', upstream: 'app', auth: 'admin' },
      { path: '/rspamd', upstream: 'app', auth: 'admin' },
      { path: '/api/emails', upstream: 'app', auth: 'token', scopes: ['send'], maxBodyBytes: 1024 },
      { path: '/upload', upstream: 'app', auth: 'public', maxBodyBytes: 1024 },
      { path: '/dead', upstream: 'dead', auth: 'public' },
      { path: '/', upstream: 'app', auth: 'public' },
    ],
  });
});

afterAll(async () => {
  await gw?.close();
  await echo?.close();
});

/** A WebSocket client to `path` on the gateway, trusting its CA. */
function webSocketTo(path: string): WebSocket {
  const options = { ca: gw.caPem, servername: 'localhost', headers: { host: 'localhost' } } as ClientOptions;
  return new WebSocket(`wss://127.0.0.1:${gw.port}${path}`, options);
}

function upstreamSaw(pathPattern: RegExp) {
  return echo.received.filter((r) => pathPattern.test(r.url.toLowerCase()));
}

/** The status `send` got, after checking that its request never reached the upstream. */
async function statusNotForwarded(send: () => Promise<{ status: number }>): Promise<number> {
  const before = echo.received.length;
  const { status } = await send();
  expect(echo.received.length).toBe(before);
  return status;
}

describe('path bypass attempts never reach an admin upstream path through a public route', () => {
  const http1Targets = [
    '//admin',
    '/ADMIN',
    '/Admin/',
    '/admin%2f',
    '/admin%2F..%2Fx',
    '/%61dmin',
    '/%41DMIN/x',
    '/x/../admin',
    '/admin/./x',
    '/%2e%2e/admin',
    '/.%2e/admin',
    '/admin%00',
    '/admin\\x',
    '/admin;x',
    '/admin%3bx',
    '/admin%5cx',
    '/rspamd//x',
    '///rspamd',
    'http://localhost/admin',
    'https://localhost/admin',
  ];
  it.each(http1Targets)('HTTP/1.1 %s is refused (400) or gets the admin policy (403)', async (target) => {
    expect([400, 403]).toContain(await statusNotForwarded(() => rawGet(gw.port, target)));
  });

  const h2Paths = [
    '//admin',
    '/ADMIN',
    '/%61dmin',
    '/admin;x',
    '/x/../admin',
    '/admin%2f',
    '/Admin/./x',
    '/rspamd%00',
  ];
  it.each(h2Paths)('h2 :path %s is refused (400) or gets the admin policy (403)', async (path) => {
    expect([400, 403]).toContain(await statusNotForwarded(() => h2Request(gw.port, { ':path': path })));
  });

  it.each([
    ['no Host', 'GET /open HTTP/1.1\r\nConnection: close\r\n\r\n', 400],
    [
      'two Host headers',
      'GET /admin HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n',
      400,
    ],
    ['HTTP/1.0 without Host (allowed)', 'GET /open HTTP/1.0\r\n\r\n', 200],
  ])('a request with %s: %i, and nothing refused reaches the upstream', async (_name, request, status) => {
    const before = echo.received.length;
    expect((await rawRequest(gw.port, request)).status).toBe(status);
    expect(echo.received.length).toBe(status === 200 ? before + 1 : before);
  });

  it('a prefix only matches on a segment boundary: /administrator is public', async () => {
    const response = await rawGet(gw.port, '/administrator');
    expect(response.status).toBe(200);
    expect(upstreamSaw(/^\/administrator$/)).toHaveLength(1);
  });

  it('repeated slashes collapse and unreserved escapes decode in the forwarded path', async () => {
    const response = await rawGet(gw.port, '//SOGo//%7Euser/x?q=%2F..');
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).url).toBe('/SOGo/~user/x?q=%2F..');
  });

  it('an unmatched host/path gets a JSON 404 only when no route matches; reserved unknown paths are admin-plane', async () => {
    const response = await rawGet(gw.port, '/_mailgate/nope');
    expect(response.status).toBe(403);
  });
});

describe('identity headers', () => {
  it('scrubs every identity and hop-by-hop header and overwrites the forwarding headers', async () => {
    const spoofed = {
      'x-mailgate-client-cn': 'root',
      'x-mailgate-app': 'evil',
      forwarded: 'for=6.6.6.6',
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'http',
      'x-real-ip': '6.6.6.6',
      'x-client-ip': '6.6.6.6',
      'x-client-cert': 'x',
      'x-ssl-client-verify': 'SUCCESS',
      'client-cert': ':abc:',
      'client-cert-chain': ':abc:',
      'x-api-key': 'secret',
      'x-custom-hop': '1',
      connection: 'x-custom-hop, close',
      'proxy-authorization': 'Basic x',
      te: 'trailers',
    };
    const response = await rawRequest(
      gw.port,
      `GET /whoami HTTP/1.1\r\nhost: localhost\r\n${Object.entries(spoofed)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`,
    );
    expect(response.status).toBe(200);
    const seen = JSON.parse(response.body).headers as Record<string, string>;
    for (const name of Object.keys(spoofed)) {
      if (
        ['x-forwarded-for', 'x-real-ip', 'x-forwarded-host', 'x-forwarded-proto', 'connection'].includes(name)
      )
        continue;
      expect(seen[name], name).toBeUndefined();
    }
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-real-ip']).toBe('127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('https');
    expect(seen['x-forwarded-host']).toBe('localhost');
    expect(seen.host).toBe('localhost');
    expect(seen['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps Authorization and cookies on public routes', async () => {
    const response = await rawGet(gw.port, '/mail', { authorization: 'Basic dTpw', cookie: 'PHPSESSID=1' });
    const seen = JSON.parse(response.body).headers;
    expect(seen.authorization).toBe('Basic dTpw');
    expect(seen.cookie).toBe('PHPSESSID=1');
  });

  it('never writes Authorization, cookies or API keys to the log', async () => {
    await rawGet(gw.port, '/secret-check', {
      authorization: 'Bearer topsecret',
      cookie: 'session=topsecret',
      'x-api-key': 'topsecret',
    });
    const text = JSON.stringify(await gw.logLines('/secret-check'));
    expect(text).toContain('/secret-check');
    expect(text).not.toContain('topsecret');
  });
});

describe('upstream failures and limits', () => {
  it('502 when the upstream is unreachable', async () => {
    const response = await rawGet(gw.port, '/dead/x');
    expect(response.status).toBe(502);
    expect(JSON.parse(response.body).error.code).toBe('upstream_unreachable');
  });

  it('an HTML error page for browsers', async () => {
    const response = await rawGet(gw.port, '/dead/x', { accept: 'text/html,application/xhtml+xml' });
    expect(response.status).toBe(502);
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.body).not.toMatch(/ECONNREFUSED|at .*\.js/);
  });

  it('504 when the upstream does not answer in time', async () => {
    const response = await rawGet(gw.port, '/hang');
    expect(response.status).toBe(504);
    expect(JSON.parse(response.body).error.code).toBe('upstream_timeout');
  });

  it('a client that goes away cancels the upstream request', async () => {
    const cancelledBefore = echo.hangsCancelled();
    const seen = echo.received.length;
    const socket = tlsConnect(
      { host: '127.0.0.1', port: gw.port, servername: 'localhost', rejectUnauthorized: false },
      () => socket.write('GET /hang HTTP/1.1\r\nhost: localhost\r\n\r\n'),
    );
    await eventually(() => echo.received.length > seen);
    socket.destroy();
    await eventually(() => echo.hangsCancelled() > cancelledBefore);
    // Cancelled because the client went away (499), not ended by the upstream's 1.5 s timeout (504): told
    // by the access line, not by a deadline that a loaded machine misses.
    const lines = await gw.logLines('"status":499');
    expect(lines.filter((line) => line.path === '/hang' && line.status === 499)).toHaveLength(1);
  });

  it('413 over maxBodyBytes by Content-Length, before the upstream sees anything', async () => {
    const body = 'x'.repeat(2048);
    const upload = `POST /upload HTTP/1.1\r\nhost: localhost\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;
    expect(await statusNotForwarded(() => rawRequest(gw.port, upload))).toBe(413);
  });

  it('413 over maxBodyBytes for a chunked upload', async () => {
    const chunk = 'y'.repeat(800);
    const chunked = `${(800).toString(16)}\r\n${chunk}\r\n`.repeat(3) + '0\r\n\r\n';
    const response = await rawRequest(
      gw.port,
      `POST /upload HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n${chunked}`,
    );
    expect(response.status).toBe(413);
  });

  it('a body under the limit passes', async () => {
    const response = await rawRequest(
      gw.port,
      `POST /upload HTTP/1.1\r\nhost: localhost\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello`,
    );
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).body).toBe('hello');
  });

  it('token routes refuse requests without a valid token', async () => {
    expect(await statusNotForwarded(() => rawGet(gw.port, '/api/emails'))).toBe(401);
  });
});

describe('streaming', () => {
  it('the upstream sees the first chunk of a slow upload before the upload ends', async () => {
    const req = httpsRequest({
      host: '127.0.0.1',
      port: gw.port,
      path: '/slow-upload',
      method: 'POST',
      servername: 'localhost',
      ca: gw.caPem,
      headers: { host: 'localhost' },
    });
    const done = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    req.write('part-one;');
    await echo.firstUploadChunk;
    req.end('part-two');
    expect(await done).toBe(200);
    expect(echo.received.find((r) => r.url === '/slow-upload')?.body).toBe('part-one;part-two');
  });

  it('the client sees the first chunk of a slow response before the upstream finishes', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port: gw.port, path: '/slow-response', servername: 'localhost', ca: gw.caPem },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
            if (body === 'first-chunk\n') echo.releaseSlowResponse();
          });
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(text).toBe('first-chunk\nlast-chunk\n');
  });

  it('streams a 1 MiB response intact', async () => {
    const response = await h2Request(gw.port, { ':path': '/big' }, { ca: gw.caPem });
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(1024 * 1024);
  });
});

describe('protocols', () => {
  it('serves h2 with the same pipeline and forwards the body', async () => {
    const response = await h2Request(
      gw.port,
      { ':path': '/h2?x=1', ':method': 'POST', 'content-type': 'text/plain' },
      { ca: gw.caPem },
      'h2-body',
    );
    expect(response.status).toBe(200);
    const seen = JSON.parse(response.body);
    expect(seen.url).toBe('/h2?x=1');
    expect(seen.body).toBe('h2-body');
    expect(seen.headers.host).toBe('localhost');
    expect(response.headers.connection).toBeUndefined();
  });

  // One write carries the stream's HEADERS and DATA: the body is over its limit before the request is
  // dispatched (h2 dispatches once the read is processed).
  it('h2: an upload over maxBodyBytes sent with its HEADERS in one write gets 413, nothing forwarded', async () => {
    const path = '/upload/h2-one-write';
    const socket = await openRawH2(gw.port);
    socket.on('error', () => {});
    const answered = new Promise<void>((resolve) =>
      readFrames(socket, (received) => {
        if (received.type === FRAME.HEADERS && received.streamId === 1) resolve();
      }),
    );
    socket.write(
      Buffer.concat([
        frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, headerBlock(postHeaders(path))),
        frame(FRAME.DATA, FLAG.END_STREAM, 1, Buffer.alloc(2048, 'z')),
      ]),
    );
    await answered;
    const [line] = (await gw.logLines(path)).filter((l) => l.path === path);
    expect(line).toMatchObject({ status: 413, failure: 'too_large' });
    expect(echo.received.filter((r) => r.url === path)).toEqual([]);
    socket.destroy();
  });

  it('h2: an upload the upstream does not answer in time gets 504, not a reset', async () => {
    // The upload's own cancellation towards the upstream must leave the client's stream to answer on.
    const response = await h2Request(gw.port, { ':path': '/hang', ':method': 'POST' }, { ca: gw.caPem }, 'x');
    expect(response.status).toBe(504);
    expect(JSON.parse(response.body).error.code).toBe('upstream_timeout');
  });

  it('h2: CONNECT gets 405 and an unknown expectation 417, and neither reaches the upstream', async () => {
    const before = echo.received.length;
    const connect = await h2Request(
      gw.port,
      { ':method': 'CONNECT', ':authority': '127.0.0.1:22' },
      { ca: gw.caPem },
    );
    expect(connect.status).toBe(405);
    const teapot = await h2Request(
      gw.port,
      { ':path': '/expect', ':method': 'POST', expect: 'teapot' },
      { ca: gw.caPem },
      'x',
    );
    expect(teapot.status).toBe(417);
    expect(echo.received.length).toBe(before);
  });

  it('h2: HEAD gets the head and no body, proxied and refused alike', async () => {
    const proxied = await h2Request(gw.port, { ':path': '/big', ':method': 'HEAD' }, { ca: gw.caPem });
    expect(proxied.status).toBe(200);
    expect(proxied.body).toBe('');
    const refused = await h2Request(gw.port, { ':path': '/%00', ':method': 'HEAD' }, { ca: gw.caPem });
    expect(refused.status).toBe(400);
    expect(refused.body).toBe('');
    expect((await h2Request(gw.port, { ':path': '/after-head' }, { ca: gw.caPem })).status).toBe(200);
  });

  it('passes a WebSocket upgrade through', async () => {
    const ws = webSocketTo('/ws/chat');
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('hello'));
      ws.on('message', (data) => resolve(data.toString()));
      ws.on('error', reject);
    });
    ws.close();
    expect(reply).toBe('echo:hello');
    expect(upstreamSaw(/^\/ws\/chat$/).at(-1)?.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it.each([
    ['an unreachable upstream', '/dead/ws'],
    // No Sec-WebSocket-Key: the upstream's WebSocket server answers 400 instead of 101.
    ['an upstream that refuses the upgrade', '/ws/chat'],
  ])('answers 502 to a WebSocket upgrade to %s', async (_name, path) => {
    const response = await rawRequest(
      gw.port,
      `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    expect(response.status).toBe(502);
    expect((await rawGet(gw.port, '/still-serving')).status).toBe(200);
  });

  it('refuses a WebSocket upgrade to an admin route without a certificate', async () => {
    const ws = webSocketTo('/admin/ws');
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(-1));
    });
    expect(status).toBe(403);
  });
});

describe('metric labels', () => {
  it('client-chosen paths and methods never become new series', async () => {
    const series = async () =>
      (await gw.gateway.metrics.registry.metrics())
        .split('\n')
        .filter((line) => line.startsWith('mailgate_http_requests_total{'));
    for (let i = 0; i < 5; i++) {
      await rawGet(gw.port, `/_mailgate/probe${i}`);
      await rawGet(gw.port, `/nowhere-${i}`, { host: 'unknown.example' });
      await h2Request(gw.port, { ':method': `INVENTED${i}`, ':path': '/' });
    }
    const lines = await series();
    expect(lines.join('\n')).not.toMatch(/probe|nowhere|INVENTED/);
    expect(lines.some((line) => line.includes('route="/_mailgate/*"'))).toBe(true);
    expect(lines.some((line) => line.includes('method="OTHER"'))).toBe(true);
  });
});
