/**
 * WebDAV through the gateway with real software: Debian's Apache mod_dav as the upstream, the litmus
 * compliance suite as the client (directly and through the gateway: the same results), plus checks of
 * what the upstream received (Destination, Depth, Overwrite, If, Lock-Token, Timeout, bodies).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApacheDav, startApacheDav } from '../helpers/apache-dav.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { h2Request, rawRequest, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { runProcess } from '../helpers/run-process.js';

let apache: ApacheDav;
let echo: EchoUpstream;
let gw: TestGateway;

beforeAll(async () => {
  apache = await startApacheDav();
  mkdirSync(join(apache.docRoot, 'dav'));
  mkdirSync(join(apache.docRoot, 'raw'));
  echo = await startEchoUpstream();
  gw = await startTestGateway({
    upstreams: {
      apache: { url: apache.url },
      echo: { url: echo.url },
      verbatim: { url: echo.url, rewriteDestination: false },
      apacheVerbatim: { url: apache.url, rewriteDestination: false },
    },
    routes: [
      { path: '/dav', upstream: 'apache', auth: 'public' },
      { path: '/files', upstream: 'apache', auth: 'public', stripPrefix: true },
      { path: '/echo', upstream: 'echo', auth: 'public' },
      { path: '/verbatim', upstream: 'verbatim', auth: 'public' },
      { path: '/raw', upstream: 'apacheVerbatim', auth: 'public' },
    ],
  });
}, 30_000);

afterAll(async () => {
  await gw?.close();
  await echo?.close();
  await apache?.close();
});

/** Runs litmus against `url` and returns its per-suite summaries and the names of failed tests. */
async function litmus(
  url: string,
  tests?: string,
): Promise<{ summaries: string[]; failed: string[]; output: string }> {
  // Async: the gateway runs in this process and must keep serving while litmus talks to it.
  const { output } = await runProcess('litmus', ['--keep-going', url], {
    env: tests ? { ...process.env, TESTS: tests } : process.env,
  });
  const summaries = [
    ...output.matchAll(/summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed/g),
  ].map((m) => `${m[1]}: ${m[3]}/${m[2]} passed`);
  const failed = [...output.matchAll(/(\d+)\. (\w+)\.+ FAIL/g)].map((m) => m[2]!);
  return { summaries, failed, output };
}

describe('litmus WebDAV compliance suite against Apache mod_dav', () => {
  it('passes the same tests through the gateway (https, h1) as directly', async () => {
    const direct = await litmus(`${apache.url}/dav/`);
    // litmus (neon) accepts the gateway's certificate without a CA option: it reports, never refuses.
    const through = await litmus(`${gw.url}/dav/`);
    expect(direct.summaries, direct.output).toHaveLength(5);
    expect(direct.failed, direct.output).toEqual([]);
    // litmus skips its expect100 test on an https server (Expect is covered in long-transfers.test.ts).
    expect(through.output).toContain('expect100............. SKIPPED (skipping for SSL server)');
    expect(through.summaries, through.output).toEqual(
      direct.summaries.map((line) => (line === 'http: 4/4 passed' ? 'http: 3/3 passed' : line)),
    );
    expect(through.failed, through.output).toEqual([]);
    expect(through.output).toContain('copy_simple');
    // Without the Destination rewrite, the moves fail as the issue reported (Apache: "different scheme").
    const verbatim = await litmus(`${gw.url}/raw/`, 'copymove');
    expect(verbatim.failed, verbatim.output).toContain('copy_simple');
    expect(verbatim.failed).toContain('move');
    // The gateway is still serving afterwards.
    const after = await rawRequest(
      gw.port,
      'OPTIONS /dav/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    expect(after.status).toBe(200);
    expect(after.raw).toMatch(/\r\ndav: 1,2/i);
  }, 180_000);
});

/** One HTTP/1.1 request over TLS with Connection: close. */
function dav(method: string, target: string, headers: Record<string, string> = {}, body = '') {
  const lines = Object.entries({
    host: `localhost:${gw.port}`,
    ...headers,
    'content-length': `${Buffer.byteLength(body)}`,
  })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return rawRequest(gw.port, `${method} ${target} HTTP/1.1\r\n${lines}connection: close\r\n\r\n${body}`);
}

describe('COPY and MOVE behind a route that strips its prefix', () => {
  it('moves the Destination to the upstream path and the Location back to the public URL', async () => {
    const origin = `https://localhost:${gw.port}`;
    const made = await dav('MKCOL', '/files/box/');
    expect(made.status).toBe(201);
    // Apache builds Location from Host over plain http; the client gets the public https URL, prefix included.
    if (made.headers.location) expect(made.headers.location).toBe(`${origin}/files/box/`);
    expect((await dav('PUT', '/files/box/a.txt', {}, 'hello')).status).toBe(201);

    const copied = await dav('COPY', '/files/box/a.txt', { destination: `${origin}/files/box/b.txt` });
    expect(copied.status).toBe(201);
    const moved = await dav('MOVE', '/files/box/b.txt', {
      destination: `${origin}/files/box/c.txt`,
      overwrite: 'F',
    });
    expect(moved.status).toBe(201);
    expect(readFileSync(join(apache.docRoot, 'box', 'c.txt'), 'utf8')).toBe('hello');
    expect(existsSync(join(apache.docRoot, 'box', 'b.txt'))).toBe(false);
    // Overwrite: F passes unchanged: the upstream refuses to replace c.txt.
    const refused = await dav('COPY', '/files/box/a.txt', {
      destination: `${origin}/files/box/c.txt`,
      overwrite: 'F',
    });
    expect(refused.status).toBe(412);

    // A Destination outside the route is not the gateway's to rewrite: the upstream refuses it as it would directly.
    const elsewhere = await dav('COPY', '/files/box/a.txt', { destination: `${origin}/dav/a.txt` });
    expect(elsewhere.status).toBe(502);
    const foreign = await dav('COPY', '/files/box/a.txt', { destination: 'https://evil.example/a.txt' });
    expect(foreign.status).toBe(502);
    expect(existsSync(join(apache.docRoot, 'a.txt'))).toBe(false);
  });
});

describe('Multi-Status and DAV request headers', () => {
  it('streams a 207 body byte for byte as the upstream wrote it', async () => {
    await dav('MKCOL', '/dav/props/');
    await dav('PUT', '/dav/props/x.txt', {}, 'x');
    const propfind =
      '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getcontentlength/><D:resourcetype/></D:prop></D:propfind>';
    const through = await dav(
      'PROPFIND',
      '/dav/props/',
      { depth: '1', 'content-type': 'application/xml' },
      propfind,
    );
    const direct = await fetch(`${apache.url}/dav/props/`, {
      method: 'PROPFIND',
      headers: { depth: '1', 'content-type': 'application/xml' },
      body: propfind,
    });
    expect(through.status).toBe(207);
    expect(through.body).toBe(await direct.text());
    expect(through.body).toContain('/dav/props/x.txt');
  });

  const methods = [
    'PROPFIND',
    'PROPPATCH',
    'MKCOL',
    'COPY',
    'MOVE',
    'LOCK',
    'UNLOCK',
    'REPORT',
    'MKCALENDAR',
    'ACL',
    'SEARCH',
  ];
  const davHeaders = {
    depth: 'infinity',
    overwrite: 'F',
    if: '<https://localhost/echo/a> (<opaquelocktoken:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>) (Not <DAV:no-lock>)',
    'lock-token': '<opaquelocktoken:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>',
    timeout: 'Second-604800, Infinite',
  };

  it.each(methods)('%s passes with its body and DAV headers unchanged (HTTP/1.1 and h2)', async (method) => {
    const body = `<?xml version="1.0"?><x:${method.toLowerCase()} xmlns:x="DAV:"/>`;
    const destination = `https://localhost:${gw.port}/echo/b`;
    const h1 = await dav(
      method,
      '/echo/a',
      { ...davHeaders, destination, 'content-type': 'application/xml' },
      body,
    );
    expect(h1.status).toBe(200);
    const h2 = await h2Request(
      gw.port,
      {
        ':method': method,
        ':path': '/echo/a',
        ':authority': `localhost:${gw.port}`,
        ...davHeaders,
        destination,
      },
      {},
      body,
    );
    expect(h2.status).toBe(200);
    for (const seen of [JSON.parse(h1.body), JSON.parse(h2.body)]) {
      expect(seen).toMatchObject({ method, url: '/echo/a', body });
      expect(seen.headers).toMatchObject({
        ...davHeaders,
        destination: `http://localhost:${gw.port}/echo/b`,
      });
    }
  });

  it('leaves Destination as sent for an upstream with rewriteDestination: false', async () => {
    const destination = `https://localhost:${gw.port}/verbatim/b`;
    const response = await dav('MOVE', '/verbatim/a', { destination });
    expect(JSON.parse(response.body).headers.destination).toBe(destination);
  });
});
