import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { rawGet, startTestGateway, type TestGateway } from '../helpers/gateway.js';

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

function plainGet(port: number, path: string, host = 'mail.example.com') {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
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
    expect((await plainGet(gw.gateway.addresses.metrics!.port, '/other', 'localhost')).status).toBe(404);
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
