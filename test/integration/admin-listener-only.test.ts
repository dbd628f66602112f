import type { ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClientCertificate } from '../../certs/issue-client.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { h2Request, rawRequest, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { withDatabase } from '../helpers/temp-store.js';

/** The admin's address: inside admin.sourceCidrs, so only the listener decides. */
const INSIDE = '127.0.0.2';

let echo: EchoUpstream;
let gw: TestGateway;
let adminTls: ConnectionOptions;
let adminPort: number;

beforeAll(async () => {
  echo = await startEchoUpstream();
  gw = await startTestGateway({
    admin: { sourceCidrs: [`${INSIDE}/32`], listenerOnly: true },
    listen: { https: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } },
    upstreams: { app: { url: echo.url } },
    routes: [{ path: '/', upstream: 'app', auth: 'public' }],
  });
  adminPort = gw.gateway.addresses.admin!.port;
  const admin = await withDatabase(gw.dataDir, (db) =>
    issueClientCertificate(db, gw.dataDir, {
      name: 'alice',
      role: 'admin',
      days: 30,
      actor: 'test',
      email: undefined,
    }),
  );
  adminTls = {
    ca: gw.caPem,
    localAddress: INSIDE,
    cert: admin.certPem,
    key: admin.keyPem,
  } as ConnectionOptions;
});

afterAll(async () => {
  await gw?.close();
  await echo?.close();
});

const get = (port: number, path: string) =>
  rawRequest(port, `GET ${path} HTTP/1.1\r\nhost: localhost:${port}\r\nconnection: close\r\n\r\n`, adminTls);

describe('admin.listenerOnly', () => {
  it('answers 404 for the admin API and console on the public listener, even to an admin certificate', async () => {
    for (const path of [
      '/_mailgate/admin/api/certificates',
      '/_mailgate/admin/',
      '/_MAILGATE/Admin/api/tokens',
    ]) {
      const h1 = await get(gw.port, path);
      expect(h1.status, path).toBe(404);
      const h2 = await h2Request(gw.port, { ':method': 'GET', ':path': path }, adminTls);
      expect(h2.status, path).toBe(404);
    }
    // Nothing the setting hides reached the upstream, and the public plane still serves.
    expect(echo.received.some((r) => r.url.toLowerCase().includes('_mailgate'))).toBe(false);
    expect((await get(gw.port, '/inbox')).status).toBe(200);
    expect((await get(gw.port, '/_mailgate/healthz')).status).toBe(200);
  });

  it('serves them on the admin listener, over HTTP/1.1 and h2', async () => {
    const h1 = await get(adminPort, '/_mailgate/admin/api/certificates');
    expect(h1.status, h1.body).toBe(200);
    const h2 = await h2Request(
      adminPort,
      { ':method': 'GET', ':path': '/_mailgate/admin/api/certificates' },
      adminTls,
    );
    expect(h2.status, JSON.stringify(h2)).toBe(200);
  });
});
