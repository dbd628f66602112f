import { request } from 'node:http';
import { Gauge } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { h2Request, rawGet, rawRequest, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let echo: EchoUpstream;
let gw: TestGateway;

beforeAll(async () => {
  echo = await startEchoUpstream();
  gw = await startTestGateway({
    publicUrl: 'https://mail.example.com',
    listen: {
      https: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      metrics: { host: '127.0.0.1', port: 0 },
    },
    upstreams: { mailcow: { url: echo.url } },
    routes: [
      { path: '/admin', upstream: 'mailcow', auth: 'admin' },
      { path: '/', upstream: 'mailcow', auth: 'public' },
    ],
  });
});

afterAll(async () => {
  await gw?.close();
  await echo?.close();
});

function plainGet(port: number, path: string, host = 'mail.example.com', method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      request({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
        .on('error', reject)
        .end();
    },
  );
}

/** The first access line for `path` after the first `since` log lines (written when the response closes). */
async function accessLine(since: number, path: string) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const line = (await gw.logLines()).slice(since).find((l) => l.msg === 'request' && l.path === path);
    if (line) return line;
  }
  throw new Error(`no access line for ${path}`);
}

describe('the plain-HTTP listener', () => {
  it('redirects everything to https with 308, keeping the canonical path and query', async () => {
    const response = await plainGet(gw.gateway.addresses.http!.port, '//SOGo/%7Euser?x=1');
    expect(response.status).toBe(308);
    expect(response.headers.location).toBe('https://mail.example.com/SOGo/~user?x=1');
  });

  it('does not redirect to a host name it cannot vouch for', async () => {
    const response = await plainGet(gw.gateway.addresses.http!.port, '/', 'evil.example.com/x?');
    expect(response.headers.location).toBe('https://mail.example.com/');
  });

  it('passes ACME HTTP-01 challenges to Mailcow through the public route', async () => {
    const response = await plainGet(gw.gateway.addresses.http!.port, '/.well-known/acme-challenge/token123');
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).url).toBe('/.well-known/acme-challenge/token123');
  });

  it('never lets an admin path through the ACME passthrough', async () => {
    const before = echo.received.length;
    const response = await plainGet(
      gw.gateway.addresses.http!.port,
      '/.well-known/acme-challenge/../../admin',
    );
    expect([308, 400]).toContain(response.status);
    expect(echo.received.length).toBe(before);
  });

  it('writes an access line for each redirect and counts it under a fixed route label', async () => {
    const since = (await gw.logLines()).length;
    await plainGet(gw.gateway.addresses.http!.port, '/Redirect-Log-Check?q=1');
    expect(await accessLine(since, '/Redirect-Log-Check')).toMatchObject({
      method: 'GET',
      route: 'redirect',
      status: 308,
      plane: 'public',
      client: '127.0.0.1',
      bytes: 0,
    });
    const metrics = await gw.gateway.metrics.registry.metrics();
    expect(metrics).toContain(
      'mailgate_http_requests_total{route="redirect",method="GET",status="308",plane="public"}',
    );
    expect(metrics).not.toContain('Redirect-Log-Check');
  });

  it('tells Mailcow that an ACME challenge came over plain http, and TLS requests over https', async () => {
    const acme = await plainGet(gw.gateway.addresses.http!.port, '/.well-known/acme-challenge/proto');
    expect(JSON.parse(acme.body).headers['x-forwarded-proto']).toBe('http');
    const tls = await rawGet(gw.port, '/.well-known/acme-challenge/proto');
    expect(JSON.parse(tls.body).headers['x-forwarded-proto']).toBe('https');
    const h2 = await h2Request(gw.port, { ':path': '/proto-check' });
    expect(JSON.parse(h2.body).headers['x-forwarded-proto']).toBe('https');
  });
});

describe('the metrics listener and health endpoints', () => {
  it('serves Prometheus metrics with mailgate_ names on its own plain-HTTP port', async () => {
    await rawGet(gw.port, '/');
    const response = await plainGet(gw.gateway.addresses.metrics!.port, '/metrics', 'localhost');
    expect(response.status).toBe(200);
    expect(response.body).toContain(
      'mailgate_http_requests_total{route="/",method="GET",status="200",plane="public"}',
    );
    expect(response.body).toContain('mailgate_process_resident_memory_bytes');
  });

  it('serves metrics with a query string and to HEAD', async () => {
    const port = gw.gateway.addresses.metrics!.port;
    const withQuery = await plainGet(port, '/metrics?x=1', 'localhost');
    expect(withQuery.status).toBe(200);
    expect(withQuery.body).toContain('mailgate_http_requests_total');
    expect((await plainGet(port, '/_mailgate/metrics?name[]=up', 'localhost')).status).toBe(200);
    const head = await plainGet(port, '/metrics', 'localhost', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('answers unknown paths with the JSON 404 and other methods with 405 and Allow', async () => {
    const port = gw.gateway.addresses.metrics!.port;
    const missing = await plainGet(port, '/other', 'localhost');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body).error.code).toBe('not_found');
    expect((await plainGet(port, '/metricsx', 'localhost')).status).toBe(404);
    const post = await plainGet(port, '/metrics', 'localhost', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(post.body).error.code).toBe('method_not_allowed');
  });

  it('answers 500 when a collector throws, logs it once and keeps serving', async () => {
    const port = gw.gateway.addresses.metrics!.port;
    const registry = gw.gateway.metrics.registry;
    new Gauge({
      name: 'mailgate_test_broken',
      help: 'a collector that fails',
      registers: [registry],
      collect() {
        throw new Error('collector broke');
      },
    });
    try {
      const failed = await plainGet(port, '/metrics', 'localhost');
      expect(failed.status).toBe(500);
      const { error } = JSON.parse(failed.body);
      expect(error.code).toBe('internal_error');
      expect(failed.body).not.toContain('collector broke');
      const logged = (await gw.logLines(error.requestId)).filter(
        (line) => line.msg === 'metrics collection failed',
      );
      expect(logged).toHaveLength(1);
      expect(logged[0]!.reqId).toBe(error.requestId);
    } finally {
      registry.removeSingleMetric('mailgate_test_broken');
    }
    expect((await plainGet(port, '/metrics', 'localhost')).status).toBe(200);
  });

  it('answers healthz and readyz publicly, and serves the CA and CRL', async () => {
    expect((await rawGet(gw.port, '/_mailgate/healthz')).status).toBe(200);
    const ready = await rawGet(gw.port, '/_mailgate/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready' });
    expect((await rawGet(gw.port, '/_mailgate/ca.pem')).body).toBe(gw.caPem);
    expect((await rawGet(gw.port, '/_mailgate/crl.pem')).body).toContain('-----BEGIN X509 CRL-----');
  });
});

describe('access-line bytes', () => {
  it('counts the body of responses the gateway writes itself, over HTTP/1.1 and h2', async () => {
    const since = (await gw.logLines()).length;
    const health = await rawGet(gw.port, '/_mailgate/healthz');
    expect(health.body.length).toBeGreaterThan(0);
    expect((await accessLine(since, '/_mailgate/healthz')).bytes).toBe(Buffer.byteLength(health.body));
    const h2Since = (await gw.logLines()).length;
    const h2Health = await h2Request(gw.port, { ':path': '/_mailgate/healthz' });
    expect((await accessLine(h2Since, '/_mailgate/healthz')).bytes).toBe(Buffer.byteLength(h2Health.body));
  });

  it('counts the JSON error bodies of refusals', async () => {
    for (const response of [
      await rawGet(gw.port, '/admin/x'),
      await h2Request(gw.port, { ':path': '/admin/x' }),
    ]) {
      expect(response.status).toBeGreaterThanOrEqual(400);
      const { requestId } = JSON.parse(response.body).error;
      const line = (await gw.logLines(requestId)).find((l) => l.msg === 'request' && l.reqId === requestId);
      expect(line?.bytes).toBe(Buffer.byteLength(response.body));
    }
  });

  it('counts nothing for HEAD, and proxied bodies as before', async () => {
    const since = (await gw.logLines()).length;
    for (const target of ['/_mailgate/healthz', '/admin/head-check']) {
      await rawRequest(gw.port, `HEAD ${target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`);
      expect(await accessLine(since, target)).toMatchObject({ method: 'HEAD', bytes: 0 });
    }
    const proxied = await rawGet(gw.port, '/bytes-check');
    expect((await accessLine(since, '/bytes-check')).bytes).toBe(Buffer.byteLength(proxied.body));
  });
});
