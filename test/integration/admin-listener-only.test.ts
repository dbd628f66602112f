import type { ConnectionOptions } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import {
  ADMIN_PLANE,
  type EchoGateway,
  h2Request,
  issueTestCertificate,
  rawRequest,
  startEchoGateway,
} from '../helpers/gateway.js';

let gw: EchoGateway;
let adminTls: ConnectionOptions;
let adminPort: number;

beforeAll(async () => {
  // The admin comes from inside admin.sourceCidrs, so only the listener decides.
  gw = await startEchoGateway({ ...ADMIN_PLANE, admin: { ...ADMIN_PLANE.admin, listenerOnly: true } });
  adminPort = gw.gateway.addresses.admin!.port;
  adminTls = (await issueTestCertificate(gw, 'alice', 'admin')).tls;
  // The admin guard knows a certificate once its change watch (a 200 ms poll) has loaded it from the store:
  // on a loaded machine the first test may be over sooner.
  await eventually(async () => (await get(adminPort, '/_mailgate/admin/api/certificates')).status !== 403);
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
    expect(gw.echo.received.some((r) => r.url.toLowerCase().includes('_mailgate'))).toBe(false);
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
