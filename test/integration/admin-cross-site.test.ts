import type { ConnectionOptions } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { getCertificate } from '../../certs/certificate-store.js';
import {
  ADMIN_PLANE,
  type EchoGateway,
  h2Request,
  issueTestCertificate,
  type RawResponse,
  rawRequest,
  startEchoGateway,
} from '../helpers/gateway.js';
import { withDatabase } from '../helpers/temp-store.js';

const EVIL = 'https://evil.example';

// The admin's browser sits inside admin.sourceCidrs (ADMIN_ADDRESS).
let gw: EchoGateway;
let adminTls: ConnectionOptions;
let adminListenerPort: number;

const issue = (name: string, role: 'admin' | 'viewer') => issueTestCertificate(gw, name, role);

function isRevoked(serial: string): boolean {
  return withDatabase(gw.dataDir, (db) => getCertificate(db, serial)?.revokedAt != null);
}

/** One HTTP/1.1 request as a browser (or the CLI) would send it, with the admin's certificate. */
function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body = '',
  port = gw.port,
): Promise<RawResponse> {
  const lines = Object.entries({
    host: `localhost:${port}`,
    ...headers,
    ...(method !== 'GET' && { 'content-length': String(Buffer.byteLength(body)) }),
  })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return rawRequest(port, `${method} ${path} HTTP/1.1\r\n${lines}connection: close\r\n\r\n${body}`, adminTls);
}

/** What Chromium sends for an auto-submitted <form method=post> on another site (no fields: empty body). */
const crossSiteForm = {
  origin: EVIL,
  'content-type': 'application/x-www-form-urlencoded',
  'sec-fetch-site': 'cross-site',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
  'sec-fetch-user': '?1',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
};
/** fetch(url, { method: 'POST', mode: 'no-cors', body: '{}' }) from another site. */
const crossSiteNoCors = {
  origin: EVIL,
  'content-type': 'text/plain;charset=UTF-8',
  'sec-fetch-site': 'cross-site',
  'sec-fetch-mode': 'no-cors',
  'sec-fetch-dest': 'empty',
  accept: '*/*',
};
/** fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }) from the console. */
const sameOriginFetch = (port: number) => ({
  origin: `https://localhost${port === 443 ? '' : `:${port}`}`,
  'content-type': 'application/json',
  'sec-fetch-site': 'same-origin',
  'sec-fetch-mode': 'cors',
  'sec-fetch-dest': 'empty',
  accept: '*/*',
});

const revokePath = (serial: string) => `/_mailgate/admin/api/certificates/${serial}/revoke`;

/** A certificate issued for `victimName` is not revoked by a POST of '{}' with `headers` (403). */
async function expectRevokeRefused(victimName: string, headers: Record<string, string>) {
  const victim = await issue(victimName, 'viewer');
  const response = await send('POST', revokePath(victim.serial), headers, '{}');
  expect(response.status).toBe(403);
  expect(isRevoked(victim.serial)).toBe(false);
}

beforeAll(async () => {
  gw = await startEchoGateway(ADMIN_PLANE);
  adminListenerPort = gw.gateway.addresses.admin!.port;
  adminTls = (await issue('alice', 'admin')).tls;
});

describe('cross-site requests to the admin API', () => {
  it('an auto-submitted cross-site form with an empty body revokes nothing (403)', async () => {
    const victim = await issue('victim-form', 'viewer');
    const response = await send('POST', revokePath(victim.serial), crossSiteForm);
    expect(response.status).toBe(403);
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(isRevoked(victim.serial)).toBe(false);
  });

  it('a cross-site no-cors fetch revokes nothing, on either listener, in any path case (403)', async () => {
    const victim = await issue('victim-fetch', 'viewer');
    for (const [path, port] of [
      [revokePath(victim.serial), gw.port],
      [`/_Mailgate/Admin/api/certificates/${victim.serial}/revoke`, gw.port],
      [revokePath(victim.serial), adminListenerPort],
    ] as const) {
      const response = await send('POST', path, crossSiteNoCors, '{}', port);
      expect(response.status).toBe(403);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    }
    const read = await send('GET', '/_mailgate/admin/api/certificates', {
      ...crossSiteNoCors,
      'content-type': '',
    });
    expect(read.status).toBe(403);
    expect(isRevoked(victim.serial)).toBe(false);
  });

  it('the webmail origin (same-site) cannot call the API, even with JSON', async () => {
    const sameSite = { 'sec-fetch-site': 'same-site', origin: 'https://webmail.localhost' };
    await expectRevokeRefused('victim-webmail', { ...sameOriginFetch(gw.port), ...sameSite });
  });

  it('an old browser without Fetch Metadata is judged by its foreign Origin (403)', async () => {
    await expectRevokeRefused('victim-legacy', { origin: EVIL, 'content-type': 'application/json' });
  });

  it('a same-origin fetch works on the public and the admin listener, with no CORS headers', async () => {
    for (const port of [gw.port, adminListenerPort]) {
      const victim = await issue(`victim-same-${port}`, 'viewer');
      const response = await send(
        'POST',
        revokePath(victim.serial),
        sameOriginFetch(port),
        '{"reason":"keyCompromise"}',
        port,
      );
      expect(response.status).toBe(200);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(Object.keys(response.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
      expect(isRevoked(victim.serial)).toBe(true);
    }
  });

  it('a CLI-style call without browser headers works; an unsafe method needs JSON even with an empty body', async () => {
    const list = await send('GET', '/_mailgate/admin/api/certificates', {});
    expect(list.status).toBe(200);
    expect(list.headers['cache-control']).toBe('no-store');
    const victim = await issue('victim-cli', 'viewer');
    const path = revokePath(victim.serial);
    const bare = await send('POST', path, {});
    expect(bare.status).toBe(415);
    expect(JSON.parse(bare.body).error.code).toBe('unsupported_media_type');
    expect(isRevoked(victim.serial)).toBe(false);
    expect((await send('POST', path, { 'content-type': 'application/json' })).status).toBe(200);
    expect(isRevoked(victim.serial)).toBe(true);
  });

  it('refuses cross-site over h2 as well', async () => {
    const victim = await issue('victim-h2', 'viewer');
    const response = await h2Request(
      gw.port,
      {
        ':method': 'POST',
        ':path': revokePath(victim.serial),
        ...crossSiteNoCors,
      },
      adminTls,
      '{}',
    );
    expect(response.status).toBe(403);
    expect(isRevoked(victim.serial)).toBe(false);
  });

  it('covers the console paths too: a cross-site form is refused, a same-origin form passes the check', async () => {
    const foreign = await send('POST', '/_mailgate/admin/no-such-page', crossSiteForm, 'name=x');
    expect(foreign.status).toBe(403);
    const own = await send(
      'POST',
      '/_mailgate/admin/no-such-page',
      { ...crossSiteForm, origin: `https://localhost:${gw.port}`, 'sec-fetch-site': 'same-origin' },
      'name=x',
    );
    // Past the cross-site check to the reserved app's own 404 (a JSON-only check would have said 415).
    expect(own.status).toBe(404);
    expect(own.headers['content-type']).toContain('text/html');
  });

  it('the gateway keeps serving after the refusals', async () => {
    expect((await send('GET', '/_mailgate/healthz', {})).status).toBe(200);
  });
});
