import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminEnv } from '../../../admin/admin-env.js';
import type { AdminRole } from '../../../admin/admin-policy.js';
import {
  ADMIN_API_BASE,
  type AdminStatus,
  createAdminApi,
  type OPENAPI_DOCUMENT,
} from '../../../admin/api/index.js';
import type { collectStatus } from '../../../admin/api/status.js';
import type { TrafficReport } from '../../../admin/api/traffic.js';
import { issueClientCertificate } from '../../../certs/issue-client.js';
import { loadConfig } from '../../../gateway/config/load.js';
import type { Config } from '../../../gateway/config/schema.js';
import { trafficReport, zeroCounts } from '../../../gateway/traffic-buckets.js';
import { readAudit } from '../../../store/audit.js';
import { createTestCa, type TestCa, tool } from '../../helpers/ca-fixture.js';

let fixture: TestCa;
let config: Config;
let upstreamsFail = false;
let api: Hono<AdminEnv>;
/** Client certificates issued up front, to revoke. */
const issued: Record<'first' | 'second' | 'hexName', { serial: string; name: string }> = {} as never;

const status = (): AdminStatus => {
  if (upstreamsFail) throw new Error('upstream registry exploded at /secret/path');
  return {
    upstreams: [
      { name: 'mailcow', reachable: true },
      { name: 'templates', reachable: null },
    ],
  };
};

/** The gateway's report of one public request in the bucket of 10:00:00 UTC, read 4 s later. */
const TRAFFIC_AT = Date.UTC(2026, 0, 1, 10, 0, 0);
const traffic = async (): Promise<TrafficReport> => {
  const counts = zeroCounts();
  counts.latency.public[2] = 1;
  return trafficReport({
    now: TRAFFIC_AT + 4_000,
    buckets: [{ start: TRAFFIC_AT, counts }],
    scope: { kind: 'process' },
    processes: [{ worker: null, pid: 42, uptimeSeconds: 60, rssBytes: 1, connections: 1, inFlight: 1 }],
  });
};

/** Mounts the API the way gateway/reserved-app.ts does, with the guard's decision set before routing. */
function hostApp(role: AdminRole | undefined) {
  const app = new Hono<AdminEnv>();
  app.use(async (c, next) => {
    if (role) {
      c.set('decision', {
        role,
        principal: `serial-${role}`,
        identity: { 'x-mailgate-client-cn': `${role}-user` },
      });
    }
    await next();
  });
  app.route(ADMIN_API_BASE, api);
  app.onError((_error, c) =>
    c.json({ error: { status: 500, code: 'internal_error', message: 'Internal error' } }, 500),
  );
  return app;
}

interface CallOptions {
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

function call(role: AdminRole | undefined, method: string, path: string, options: CallOptions = {}) {
  const hasBody = options.body !== undefined || options.raw !== undefined;
  return hostApp(role).request(`${ADMIN_API_BASE}${path}`, {
    method,
    ...(hasBody && { body: options.raw ?? JSON.stringify(options.body) }),
    headers: { ...(hasBody && { 'content-type': 'application/json' }), ...options.headers },
  });
}

async function errorOf(response: Response) {
  const body = (await response.json()) as {
    error: { status: number; code: string; message: string; field?: string };
  };
  expect(body.error.status).toBe(response.status);
  return body.error;
}

const count = (table: 'certificates' | 'tokens' | 'audit' | 'crl') =>
  (fixture.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

/** Every file under the data dir with its size and mtime, except the SQLite files. */
function files(dir = fixture.dataDir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path);
    if (entry.name.startsWith('mailgate.db')) return [];
    const stat = statSync(path);
    return [`${path} ${stat.size} ${stat.mtimeMs}`];
  });
}

/** The state a refused call must leave untouched. */
function snapshot() {
  return {
    certificates: count('certificates'),
    revoked: fixture.db.prepare('SELECT serial FROM certificates WHERE revoked_at IS NOT NULL').all(),
    tokens: fixture.db.prepare('SELECT id, revoked_at FROM tokens').all(),
    crl: fixture.db.prepare('SELECT number FROM crl').get(),
    files: files(),
  };
}

/** An admin POST of `body` to `path` is refused: 400 invalid_field naming `field`, and nothing written. */
async function expectFieldRefused(path: string, body: unknown, field: string) {
  const before = snapshot();
  const response = await call('admin', 'POST', path, { body });
  expect(response.status).toBe(400);
  const error = await errorOf(response);
  expect(error).toMatchObject({ code: 'invalid_field', field });
  expect(error.message).toContain(field);
  expect(snapshot()).toEqual(before);
}

const lastAudit = () =>
  fixture.db.prepare('SELECT * FROM audit ORDER BY id DESC LIMIT 1').get() as {
    actor: string;
    action: string;
    target: string | null;
    outcome: string;
    detail: string;
  };

beforeAll(async () => {
  fixture = await createTestCa('mailgate-admin-api-');
  config = loadConfig({ configPath: undefined, env: {}, dataDir: fixture.dataDir });
  api = createAdminApi({ db: fixture.db, dataDir: fixture.dataDir, config, status, traffic });
  const issue = (name: string) =>
    issueClientCertificate(fixture.db, fixture.dataDir, { name, role: 'viewer', days: 30, actor: 'test' });
  const [first, second, hexName] = await Promise.all([issue('first'), issue('second'), issue('abcd')]);
  Object.assign(issued, { first: first!, second: second!, hexName: hexName! });
});

afterAll(() => fixture?.cleanup());

describe('roles', () => {
  const reads = ['/status', '/traffic', '/certificates', '/tokens', '/audit', '/openapi.json'];
  const roles: AdminRole[] = ['viewer', 'operator', 'admin'];

  it.each(reads.flatMap((path) => roles.map((role) => [path, role] as const)))(
    'GET %s is open to %s',
    async (path, role) => {
      const response = await call(role, 'GET', path);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(lastAudit()).toMatchObject({ actor: `cert:serial-${role}`, outcome: 'ok' });
    },
  );

  const refusals: Array<[AdminRole, string, CallOptions]> = [
    ['viewer', '/certificates', { body: { name: 'refused', role: 'admin' } }],
    ['operator', '/certificates', { body: { name: 'refused', role: 'admin' } }],
    ['viewer', '/certificates/SERIAL/revoke', { body: {} }],
    ['viewer', '/tokens', { body: { app: 'shop', scopes: ['send'] } }],
    ['operator', '/tokens', { body: { app: 'shop', scopes: ['send'] } }],
    ['viewer', '/tokens/tok_AAAAAAAAAAAAAAAA/revoke', {}],
  ];

  it.each(refusals)(
    '%s may not POST %s: 403, audited as denied, nothing changes',
    async (role, path, options) => {
      const before = snapshot();
      const response = await call(role, 'POST', path.replace('SERIAL', issued.first.serial), options);
      expect(response.status).toBe(403);
      expect(await errorOf(response)).toMatchObject({ code: 'forbidden' });
      expect(snapshot()).toEqual(before);
      expect(lastAudit()).toMatchObject({ actor: `cert:serial-${role}`, outcome: 'denied' });
      expect(JSON.parse(lastAudit().detail)).toMatchObject({
        role,
        cn: `${role}-user`,
        status: 403,
        code: 'forbidden',
      });
    },
  );

  it('refuses every endpoint when the guard decision is missing (fail closed)', async () => {
    for (const path of reads) {
      const response = await call(undefined, 'GET', path);
      expect(response.status).toBe(403);
    }
    expect(lastAudit()).toMatchObject({ actor: 'cert:unknown', outcome: 'denied' });
  });
});

describe('certificates', () => {
  it('issues a client certificate with key and PKCS#12 for an admin, audited as the caller', async () => {
    const before = count('certificates');
    const response = await call('admin', 'POST', '/certificates', {
      body: { name: 'carol', role: 'operator', email: 'carol@example.com', days: 10, p12Password: 'pw-123' },
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Record<string, string>;
    expect(body).toMatchObject({ name: 'carol', role: 'operator', email: 'carol@example.com' });
    const cert = new X509Certificate(body.certPem!);
    expect(cert.serialNumber.toLowerCase()).toBe(body.serial);
    expect(cert.subjectAltName).toContain('URI:urn:mailgate:role:operator');
    expect(Date.parse(body.notAfter!) - Date.now()).toBeLessThanOrEqual(10 * 86_400_000);
    expect(
      cert.checkPrivateKey(await import('node:crypto').then((m) => m.createPrivateKey(body.keyPem!))),
    ).toBe(true);
    const p12Path = join(fixture.root, 'carol.p12');
    writeFileSync(p12Path, Buffer.from(body.p12!, 'base64'));
    const openssl = tool('openssl', [
      'pkcs12',
      '-in',
      p12Path,
      '-passin',
      'pass:pw-123',
      '-nokeys',
      '-clcerts',
    ]);
    expect(openssl.code, openssl.out).toBe(0);
    expect(openssl.stdout).toMatch(/CN ?= ?carol/);
    expect(count('certificates')).toBe(before + 1);
    const records = readAudit(fixture.db, 0).filter((entry) => entry.target === body.serial);
    expect(records.map((r) => [r.action, r.actor, r.outcome])).toEqual([
      ['ca.issue', 'cert:serial-admin', 'ok'],
      ['api.certificates.issue', 'cert:serial-admin', 'ok'],
    ]);
  });

  it('defaults days to ca.clientDays and omits p12 without a password', async () => {
    const response = await call('admin', 'POST', '/certificates', { body: { name: 'dave', role: 'viewer' } });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Record<string, string>;
    expect(body.p12).toBeUndefined();
    const days = (Date.parse(body.notAfter!) - Date.parse(body.notBefore!)) / 86_400_000;
    expect(Math.round(days)).toBe(config.ca.clientDays);
  });

  it.each([
    [{ name: 'bad/name', role: 'admin' }, 'name'],
    [{ role: 'admin' }, 'name'],
    [{ name: 'eve', role: 'root' }, 'role'],
    [{ name: 'eve', role: 'admin', email: 'not an address' }, 'email'],
    [{ name: 'eve', role: 'admin', days: 0 }, 'days'],
    [{ name: 'eve', role: 'admin', days: 100_000 }, 'days'],
    [{ name: 'eve', role: 'admin', days: '30' }, 'days'],
    [{ name: 'eve', role: 'admin', p12Password: '' }, 'p12Password'],
    [{ name: 'eve', role: 'admin', p12Algorithm: 'aes256' }, 'p12Algorithm'],
    [{ name: 'eve', role: 'admin', admin: true }, 'admin'],
    [['eve'], 'body'],
  ])('refuses issue body %j with 400 invalid_field naming %s, writing nothing', async (body, field) => {
    await expectFieldRefused('/certificates', body, field);
    expect(lastAudit()).toMatchObject({ action: 'api.certificates.issue', outcome: 'error' });
  });

  it.each([
    [
      '/certificates',
      { name: 'eve', role: 'admin', days: 0 },
      'days: must be a whole number of days from 1 to 397',
    ],
    [
      '/certificates',
      { name: 'eve', role: 'admin', days: 398 },
      'days: must be a whole number of days from 1 to 397',
    ],
    [
      '/certificates',
      { name: 'eve', role: 'admin', days: 1.5 },
      'days: must be a whole number of days from 1 to 397',
    ],
    ['/certificates', { name: 5, role: 'admin' }, 'name: must be a string'],
    ['/certificates', { name: 'eve', role: 'root' }, 'role: must be one of admin, operator, viewer'],
    ['/certificates', ['eve'], 'body: must be an object'],
    ['/tokens', { app: 'shop', scopes: 'send' }, 'scopes: must be an array'],
    ['/tokens', { app: 'shop', scopes: ['send'], ttl: 90 }, 'ttl: must be a string'],
  ])('says in one line what the field must be: POST %s %j', async (path, body, message) => {
    const response = await call('admin', 'POST', path, { body });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toBe(message);
  });

  it('refuses malformed JSON (400), a wrong media type (415) and an oversized body (413)', async () => {
    const before = snapshot();
    const malformed = await call('admin', 'POST', '/certificates', { raw: '{"name": "eve",' });
    expect(malformed.status).toBe(400);
    expect(await errorOf(malformed)).toMatchObject({ code: 'malformed_json' });
    const text = await call('admin', 'POST', '/certificates', {
      raw: JSON.stringify({ name: 'eve', role: 'admin' }),
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(await errorOf(text)).toMatchObject({ code: 'unsupported_media_type' });
    const big = JSON.stringify({ name: 'eve', role: 'admin', email: `${'a'.repeat(70_000)}@example.com` });
    const streamed = await call('admin', 'POST', '/certificates', { raw: big });
    expect(streamed.status).toBe(413);
    expect(await errorOf(streamed)).toMatchObject({ code: 'payload_too_large' });
    const declared = await call('admin', 'POST', '/certificates', {
      raw: big,
      headers: { 'content-length': String(big.length) },
    });
    expect(declared.status).toBe(413);
    expect(snapshot()).toEqual(before);
  });

  it('lists certificates, filtered by revoked and expiring', async () => {
    const all = (await (await call('viewer', 'GET', '/certificates')).json()) as {
      certificates: Array<{ serial: string; status: string }>;
    };
    expect(all.certificates.map((c) => c.serial)).toEqual(expect.arrayContaining([issued.first.serial]));
    expect(all.certificates[0]).not.toHaveProperty('certPem');
    const expiring = (await (await call('viewer', 'GET', '/certificates?expiring=31')).json()) as {
      certificates: Array<{ serial: string }>;
    };
    expect(expiring.certificates.map((c) => c.serial)).toContain(issued.first.serial);
    const none = (await (await call('viewer', 'GET', '/certificates?expiring=1')).json()) as {
      certificates: unknown[];
    };
    expect(none.certificates).toEqual([]);
  });

  it.each([
    ['/certificates?expiring=soon', 'expiring'],
    ['/certificates?revoked=yes', 'revoked'],
    ['/certificates?colour=red', 'colour'],
  ])('refuses the query %s with 400 naming %s', async (path, field) => {
    const response = await call('viewer', 'GET', path);
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: 'invalid_field', field });
  });

  it('revokes by serial for an operator: new CRL in the same change, audited twice as the caller', async () => {
    const crlBefore = readFileSync(fixture.paths.crl, 'utf8');
    const response = await call(
      'operator',
      'POST',
      `/certificates/${issued.first.serial.toUpperCase()}/revoke`,
      {
        body: { reason: 'keyCompromise' },
      },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      serial: issued.first.serial,
      status: 'revoked',
      revocationReason: 'keyCompromise',
    });
    expect(readFileSync(fixture.paths.crl, 'utf8')).not.toBe(crlBefore);
    const crlText = tool('openssl', [
      'crl',
      '-in',
      fixture.paths.crl,
      '-noout',
      '-text',
    ]).stdout.toLowerCase();
    expect(crlText.replaceAll(/[^0-9a-f\n]/g, '')).toContain(issued.first.serial);
    const records = readAudit(fixture.db, 0).filter(
      (entry) => entry.target === issued.first.serial && entry.actor === 'cert:serial-operator',
    );
    expect(records.map((r) => [r.action, r.actor, r.outcome])).toEqual([
      ['ca.revoke', 'cert:serial-operator', 'ok'],
      ['api.certificates.revoke', 'cert:serial-operator', 'ok'],
    ]);
    const revoked = (await (await call('viewer', 'GET', '/certificates?revoked=true')).json()) as {
      certificates: Array<{ serial: string }>;
    };
    expect(revoked.certificates.map((c) => c.serial)).toEqual([issued.first.serial]);
  });

  it('revokes with an empty body for an admin (reason unspecified)', async () => {
    const response = await hostApp('admin').request(
      `${ADMIN_API_BASE}/certificates/${issued.second.serial}/revoke`,
      { method: 'POST' },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'revoked', revocationReason: 'unspecified' });
  });

  it.each([
    ['an already revoked certificate', () => issued.first.serial, {}, 409, 'conflict'],
    ['an unknown serial', () => '0123456789abcdef', {}, 404, 'not_found'],
    ['a name, even one that reads as hex', () => 'abcd', {}, 404, 'not_found'],
    ['a non-hex target', () => 'first', {}, 404, 'not_found'],
    ['a bad reason', () => issued.hexName.serial, { reason: 'boredom' }, 400, 'invalid_field'],
  ])('refuses to revoke %s and changes nothing', async (_what, target, body, status, code) => {
    const before = snapshot();
    const response = await call('operator', 'POST', `/certificates/${target()}/revoke`, { body });
    expect(response.status).toBe(status);
    expect(await errorOf(response)).toMatchObject({ code });
    expect(snapshot()).toEqual(before);
    expect(lastAudit()).toMatchObject({ action: 'api.certificates.revoke', outcome: 'error' });
  });
});

describe('tokens', () => {
  let tokenId: string;

  it('issues a token for an admin: shown once, listed without it', async () => {
    const response = await call('admin', 'POST', '/tokens', {
      body: { app: 'shop', scopes: ['send', 'send'], ttl: '30d', rate: '10/min', burst: 5, quota: '100/day' },
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { id: string; token: string; scopes: string[] };
    expect(body.token.split('.')).toHaveLength(3);
    expect(body.scopes).toEqual(['send']);
    tokenId = body.id;
    const list = await (await call('viewer', 'GET', '/tokens')).text();
    expect(list).toContain(tokenId);
    expect(list).not.toContain(body.token);
    expect(JSON.parse(list).tokens[0]).toMatchObject({
      id: tokenId,
      status: 'active',
      limits: { rate: { count: 10, perMs: 60_000 }, burst: 5, quotaPerDay: 100 },
    });
    const records = readAudit(fixture.db, 0).filter((entry) => entry.target === tokenId);
    expect(records.map((r) => [r.action, r.actor])).toEqual([
      ['token.issue', 'cert:serial-admin'],
      ['api.tokens.issue', 'cert:serial-admin'],
    ]);
  });

  it.each([
    [{ scopes: ['send'] }, 'app'],
    [{ app: 'shop', scopes: [] }, 'scopes'],
    [{ app: 'shop', scopes: ['no spaces'] }, 'scopes'],
    [{ app: 'shop', scopes: ['send'], ttl: 'forever' }, 'ttl'],
    [{ app: 'shop', scopes: ['send'], rate: 'fast' }, 'rate'],
    [{ app: 'shop', scopes: ['send'], burst: 0 }, 'burst'],
    [{ app: 'shop', scopes: ['send'], quota: '5/min' }, 'quota'],
    [{ app: 'shop', scopes: ['send'], owner: 'me' }, 'owner'],
  ])('refuses token body %j with 400 naming %s, writing nothing', async (body, field) => {
    await expectFieldRefused('/tokens', body, field);
  });

  it('revokes a token for an operator, then refuses again with 409', async () => {
    const response = await call('operator', 'POST', `/tokens/${tokenId}/revoke`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: tokenId, status: 'revoked' });
    expect(lastAudit()).toMatchObject({ action: 'api.tokens.revoke', target: tokenId, outcome: 'ok' });
    const before = snapshot();
    const again = await call('admin', 'POST', `/tokens/${tokenId}/revoke`);
    expect(again.status).toBe(409);
    expect(await errorOf(again)).toMatchObject({ code: 'conflict' });
    expect(snapshot()).toEqual(before);
  });

  it('answers 404 for an unknown token id and 400 for a revoke body with fields', async () => {
    const before = snapshot();
    const unknown = await call('operator', 'POST', '/tokens/tok_AAAAAAAAAAAAAAAA/revoke');
    expect(unknown.status).toBe(404);
    expect(await errorOf(unknown)).toMatchObject({ code: 'not_found' });
    const body = await call('operator', 'POST', `/tokens/${tokenId}/revoke`, { body: { force: true } });
    expect(body.status).toBe(400);
    expect(await errorOf(body)).toMatchObject({ code: 'invalid_field', field: 'force' });
    expect(snapshot()).toEqual(before);
  });
});

describe('status, audit, openapi', () => {
  it('reports CA, CRL and certificate counts from the store and upstreams from the gateway', async () => {
    const body = (await (await call('viewer', 'GET', '/status')).json()) as ReturnType<typeof collectStatus>;
    expect(body.ca!.notAfter).toBe(new Date(fixture.ca.cert.validity.notAfter).toISOString());
    expect(body.ca!.daysLeft).toBeGreaterThan(25);
    expect(body.serverCertificate).toBeNull();
    expect(Date.parse(body.crl!.nextUpdate)).toBeGreaterThan(Date.now());
    expect(body.clientCertificates.revoked).toBe(2);
    expect(body.upstreams).toEqual([
      { name: 'mailcow', reachable: true },
      { name: 'templates', reachable: null },
    ]);
  });

  it('hands over the traffic report the gateway made, audited as api.traffic', async () => {
    const body = (await (await call('viewer', 'GET', '/traffic')).json()) as TrafficReport;
    expect(body).toEqual(await traffic());
    expect(body.totals.requests).toEqual({ public: 1, token: 0, admin: 0 });
    expect(body.intervals[0]).toMatchObject({ end: TRAFFIC_AT + 4_000, seconds: 4 });
    expect(lastAudit()).toMatchObject({ action: 'api.traffic', outcome: 'ok' });
  });

  it('reads the audit trail of the requested period and refuses a bad period', async () => {
    const body = (await (await call('viewer', 'GET', '/audit?since=1h')).json()) as {
      entries: Array<{ action: string; at: string }>;
    };
    expect(body.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['ca.revoke', 'api.status']));
    expect(Date.parse(body.entries[0]!.at)).toBeGreaterThan(Date.now() - 3_600_000);
    const bad = await call('viewer', 'GET', '/audit?since=yesterday');
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toMatchObject({ code: 'invalid_field', field: 'since' });
  });

  it('describes every route in an OpenAPI 3.1 document', async () => {
    const doc = (await (await call('viewer', 'GET', '/openapi.json')).json()) as typeof OPENAPI_DOCUMENT;
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const routed = new Set(
      api.routes
        .filter((r) => r.method !== 'ALL' && r.path !== '/*')
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    );
    expect(documented.sort()).toEqual([...routed].sort());
  });

  it('answers unknown endpoints with a JSON 404, audited', async () => {
    const response = await call('admin', 'DELETE', '/certificates');
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ code: 'not_found' });
    expect(lastAudit()).toMatchObject({
      action: 'api.unknown',
      target: `DELETE ${ADMIN_API_BASE}/certificates`,
    });
  });

  it('turns an unexpected failure into the host 500 without detail, audited as an error', async () => {
    upstreamsFail = true;
    try {
      const response = await call('viewer', 'GET', '/status');
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(text).not.toContain('/secret/path');
      expect(text).not.toMatch(/at .*\.ts/);
      expect(lastAudit()).toMatchObject({ action: 'api.status', outcome: 'error' });
      expect(JSON.parse(lastAudit().detail)).toMatchObject({ status: 500, code: 'internal_error' });
    } finally {
      upstreamsFail = false;
    }
  });
});
