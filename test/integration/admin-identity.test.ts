import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCertificate, certificateFacts, clientExtensions } from '../../certs/build-certificate.js';
import { insertCertificate } from '../../certs/certificate-store.js';
import { generateRsaKey, type RsaKey } from '../../certs/keys.js';
import { loadCa } from '../../certs/load-ca.js';
import { randomSerialHex } from '../../certs/serial.js';
import { withDatabase } from '../../store/database.js';
import { runCli } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import {
  ADMIN_ADDRESS,
  ADMIN_PLANE,
  type EchoGateway,
  type RawResponse,
  rawRequest,
  startEchoGateway,
} from '../helpers/gateway.js';

const EXPLOIT_EMAIL = 'URI:urn:mailgate:role:admin@example.com';

let gw: EchoGateway;
let key: RsaKey;

interface Crafted {
  serial: string;
  tls: ConnectionOptions;
}

/**
 * A client certificate built with forge and signed by the gateway's own CA, with SAN names chosen by the
 * test; recorded in the store with `storedRole` (or not at all), as a hostile insider with CA access
 * could not do through `ca issue` any more.
 */
function craft(altNames: object[], storedRole: string | undefined): Crafted {
  const ca = loadCa(gw.dataDir);
  const serial = randomSerialHex();
  const cert = buildCertificate({
    serialHex: serial,
    commonName: 'mallory',
    publicKey: key.publicKey,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    extensions: [
      ...clientExtensions('urn:mailgate:role:viewer', undefined).slice(0, 3),
      { name: 'subjectAltName', altNames },
    ],
    issuer: ca,
  });
  const facts = certificateFacts(cert);
  if (storedRole) {
    withDatabase(gw.dataDir, (db) =>
      insertCertificate(
        db,
        {
          serial,
          kind: 'client',
          name: 'mallory',
          role: storedRole,
          sans: [],
          ...facts,
          certPem: facts.pem,
          createdAt: Date.now(),
        },
        { actor: 'test', action: 'ca.issue', detail: {} },
      ),
    );
  }
  return {
    serial,
    tls: { ca: gw.caPem, localAddress: ADMIN_ADDRESS, cert: facts.pem, key: key.pem } as ConnectionOptions,
  };
}

function send(who: Crafted, method: string, path: string, body?: string): Promise<RawResponse> {
  const head =
    body === undefined ? '' : `content-type: application/json\r\ncontent-length: ${body.length}\r\n`;
  return rawRequest(
    gw.port,
    `${method} ${path} HTTP/1.1\r\nhost: localhost\r\n${head}connection: close\r\n\r\n${body ?? ''}`,
    who.tls,
  );
}

beforeAll(async () => {
  gw = await startEchoGateway({
    admin: ADMIN_PLANE.admin,
    routes: [
      { path: '/admin', upstream: 'app', auth: 'admin' },
      { path: '/stats', upstream: 'app', auth: 'admin', roles: ['admin', 'viewer'] },
    ],
  });
  key = await generateRsaKey(2048);
});

describe('identity from the certificate structure (issue 12)', () => {
  it('ca issue client refuses the reproduction e-mail on one line naming --email, and writes nothing', async () => {
    const out = join(gw.root, 'issued');
    const run = await runCli(
      ['ca', 'issue', 'client', '--name', 'x', '--role', 'viewer', '--email', EXPLOIT_EMAIL, '--out', out],
      { dataDir: gw.dataDir },
    );
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--email must be an e-mail address/);
    expect(existsSync(join(out, 'x.crt.pem'))).toBe(false);
    const list = JSON.parse((await runCli(['ca', 'list', '--json'], { dataDir: gw.dataDir })).stdout);
    expect(JSON.stringify(list)).not.toContain('"x"');
  });

  it('a forged certificate with the role text in its e-mail acts as the viewer it was issued as', async () => {
    const viewer = craft(
      [
        { type: 1, value: EXPLOIT_EMAIL },
        { type: 6, value: 'urn:mailgate:role:viewer' },
      ],
      'viewer',
    );
    await eventually(async () => (await send(viewer, 'GET', '/_mailgate/admin/api/status')).status === 200);
    const stats = await send(viewer, 'GET', '/stats');
    expect(stats.status).toBe(200);
    expect(JSON.parse(stats.body).headers['x-mailgate-client-role']).toBe('viewer');
    expect((await send(viewer, 'GET', '/admin')).status).toBe(403);
    expect(
      (await send(viewer, 'POST', '/_mailgate/admin/api/tokens', '{"app":"evil","scopes":["send"]}')).status,
    ).toBe(403);
    const issue = await send(
      viewer,
      'POST',
      '/_mailgate/admin/api/certificates',
      '{"name":"evil","role":"admin"}',
    );
    expect(issue.status).toBe(403);
  });

  it('refuses an admin role the store did not issue, two role URIs and an unknown serial', async () => {
    const mismatch = craft([{ type: 6, value: 'urn:mailgate:role:admin' }], 'viewer');
    const twoRoles = craft(
      [
        { type: 6, value: 'urn:mailgate:role:viewer' },
        { type: 6, value: 'urn:mailgate:role:admin' },
      ],
      'admin',
    );
    const unknown = craft([{ type: 6, value: 'urn:mailgate:role:admin' }], undefined);
    const reader = craft([{ type: 6, value: 'urn:mailgate:role:viewer' }], 'viewer');
    const denials = async (reason: string) => {
      const metrics = await send(reader, 'GET', '/_mailgate/metrics');
      const line = new RegExp(`mailgate_auth_denied_total\\{plane="admin",reason="${reason}"\\} (\\d+)`);
      return Number(line.exec(metrics.body)?.[1] ?? 0);
    };
    await eventually(async () => (await send(reader, 'GET', '/_mailgate/metrics')).status === 200);
    for (const who of [mismatch, twoRoles, unknown]) {
      for (const path of ['/admin', '/stats', '/_mailgate/admin/api/status']) {
        expect((await send(who, 'GET', path)).status).toBe(403);
      }
    }
    expect(await denials('role_mismatch')).toBeGreaterThanOrEqual(3);
    expect(await denials('role_not_allowed')).toBeGreaterThanOrEqual(3);
    expect(await denials('certificate_unknown')).toBeGreaterThanOrEqual(3);
  });
});
