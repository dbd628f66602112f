import { describe, expect, it } from 'vitest';
import { AddressLimits } from '../../../gateway/address-limits.js';
import type { RouteConfig } from '../../../gateway/config/schema.js';
import type { GatewayRequest, GuardDecision, GuardInput, PlaneGuard } from '../../../gateway/plane-guard.js';
import { newRequestRecord } from '../../../gateway/request-record.js';
import { reservedPath } from '../../../gateway/reserved-app.js';
import { type PipelineState, resolveRequest } from '../../../gateway/resolve-request.js';
import { RouteTable } from '../../../gateway/route-table.js';
import type { Upstreams } from '../../../gateway/upstreams.js';
import { AddressSet, parseCidr } from '../../../lib/cidr.js';

const route = (path: string, extra: Partial<RouteConfig> = {}): RouteConfig => ({
  path,
  upstream: 'app',
  auth: 'public',
  stripPrefix: false,
  forwardAuthorization: false,
  ...extra,
});

/** What each guard was asked, to assert that refused requests never reach a guard. */
const asked: Array<{ plane: string; input: GuardInput }> = [];
const guard =
  (plane: string, decide: (input: GuardInput) => GuardDecision): PlaneGuard =>
  (input) => {
    asked.push({ plane, input });
    return decide(input);
  };

const state: PipelineState = {
  routes: new RouteTable([
    route('/'),
    route('/admin', { auth: 'admin' }),
    route('/api/emails', { auth: 'token', scopes: ['send'] }),
  ]),
  upstreams: {} as Upstreams,
  guards: {
    public: guard('public', () => ({ allowed: true })),
    admin: guard('admin', (input) =>
      input.peerAddress === '10.8.0.2'
        ? { allowed: true, principal: 'serial-1', role: 'admin' }
        : { allowed: false, code: 'forbidden', reason: 'source_not_allowed' },
    ),
    // The token guard is the only one that answers with a promise.
    token: (input) => {
      asked.push({ plane: 'token', input });
      return Promise.resolve({
        allowed: false,
        code: 'unauthorized',
        reason: 'token_missing',
        responseHeaders: { 'www-authenticate': 'Bearer realm="mailgate"' },
      });
    },
  },
  trustedProxies: new AddressSet([parseCidr('192.0.2.0/24')!]),
  reservedPath,
  serveReserved: async () => {},
  // No per-address rate limit here (0 = off): its own unit test covers it.
  addressLimits: new AddressLimits({
    clientConnections: 0,
    clientRequestsPerMinute: 0,
    clientRequestBurst: 0,
    clientTableSize: 16,
    clientIpv6Prefix: 64,
  }),
  hsts: undefined,
  adminListenerOnly: false,
};

function request(
  url: string,
  extra: {
    host?: string;
    peer?: string;
    headers?: Record<string, string>;
    raw?: string[];
    minor?: number;
  } = {},
): GatewayRequest {
  const headers: Record<string, string> = { ...extra.headers };
  if (extra.host !== null) headers.host = extra.host ?? 'mail.example.com';
  return {
    url,
    method: 'GET',
    headers,
    rawHeaders: extra.raw ?? Object.entries(headers).flat(),
    httpVersionMajor: 1,
    httpVersionMinor: extra.minor ?? 1,
    socket: { remoteAddress: extra.peer ?? '203.0.113.7' },
  } as unknown as GatewayRequest;
}

async function resolve(req: GatewayRequest) {
  asked.length = 0;
  const record = newRequestRecord(req.method);
  const resolution = await resolveRequest(req, state, record);
  return { resolution, record, asked: asked.map((a) => a.plane) };
}

describe('resolveRequest', () => {
  it('routes a public path to the proxy, filling the record', async () => {
    const { resolution, record, asked } = await resolve(request('/SOGo/so/?x=1'));
    expect(resolution).toMatchObject({
      kind: 'proxy',
      route: { path: '/', prefix: '' },
      target: { path: '/SOGo/so/' },
    });
    expect(record).toMatchObject({ path: '/SOGo/so/', route: '/', plane: 'public', client: '203.0.113.7' });
    expect(asked).toEqual(['public']);
  });

  it.each([
    ['a dot segment', '/x/../admin', 'path_dot_segment'],
    ['an encoded slash', '/admin%2fx', undefined],
    ['a backslash', '/x\\admin', undefined],
  ])('refuses %s with 400 before any guard', async (_name, url, reason) => {
    const { resolution, asked } = await resolve(request(url));
    expect(resolution).toMatchObject({ kind: 'refused', code: 'bad_request' });
    if (reason) expect(resolution).toMatchObject({ reason });
    expect(asked).toEqual([]);
  });

  it('refuses HTTP/1.1 without a Host, or with two, before any guard', async () => {
    const missing = await resolve(request('/', { host: null as unknown as string }));
    expect(missing.resolution).toMatchObject({
      kind: 'refused',
      code: 'bad_request',
      reason: 'host_missing',
    });
    const twice = await resolve(request('/', { raw: ['Host', 'a.example', 'host', 'b.example'] }));
    expect(twice.resolution).toMatchObject({ kind: 'refused', code: 'bad_request', reason: 'host_repeated' });
    expect([...missing.asked, ...twice.asked]).toEqual([]);
    // HTTP/1.0 needs no Host.
    expect((await resolve(request('/', { host: null as unknown as string, minor: 0 }))).resolution.kind).toBe(
      'proxy',
    );
  });

  it('with admin.listenerOnly, answers 404 on /_mailgate/admin/ off the admin listener, before its guard', async () => {
    state.adminListenerOnly = true;
    try {
      // The request's socket was not accepted by the admin listener (listeners.ts marks those).
      const off = await resolve(request('/_mailgate/admin/api/status', { peer: '10.8.0.2' }));
      expect(off.resolution).toMatchObject({
        kind: 'refused',
        code: 'not_found',
        reason: 'admin_listener_only',
      });
      expect(off.asked).toEqual([]);
      // Public reserved paths and admin-plane routes are untouched by the setting.
      expect((await resolve(request('/_mailgate/healthz'))).resolution.kind).toBe('reserved');
      expect((await resolve(request('/admin/x', { peer: '10.8.0.2' }))).resolution.kind).toBe('proxy');
    } finally {
      state.adminListenerOnly = false;
    }
  });

  it('hands the admin guard the socket peer, never a forwarded address', async () => {
    const spoofed = await resolve(request('/admin/x', { headers: { 'x-forwarded-for': '10.8.0.2' } }));
    expect(spoofed.resolution).toMatchObject({
      kind: 'refused',
      code: 'forbidden',
      reason: 'source_not_allowed',
    });
    expect(spoofed.record.client).toBe('203.0.113.7');
    const inside = await resolve(request('/ADMIN/x', { peer: '10.8.0.2' }));
    expect(inside.resolution).toMatchObject({ kind: 'proxy', route: { auth: 'admin' } });
    expect(inside.record).toMatchObject({ plane: 'admin', principal: 'serial-1' });
  });

  it('believes X-Forwarded-For only from a trusted proxy (client address for logs; the peer stays the peer)', async () => {
    const viaProxy = await resolve(
      request('/', { peer: '192.0.2.10', headers: { 'x-forwarded-for': '198.51.100.4' } }),
    );
    expect(viaProxy.record.client).toBe('198.51.100.4');
    expect(viaProxy.resolution).toMatchObject({ kind: 'proxy' });
  });

  it('waits for the token guard and passes its refusal headers on', async () => {
    const { resolution, record } = await resolve(request('/api/emails'));
    expect(resolution).toEqual({
      kind: 'refused',
      code: 'unauthorized',
      reason: 'token_missing',
      headers: { 'www-authenticate': 'Bearer realm="mailgate"' },
    });
    expect(record.plane).toBe('token');
  });

  it('decides reserved paths before routes, by their own plane', async () => {
    const health = await resolve(request('/_mailgate/healthz'));
    expect(health.resolution).toMatchObject({ kind: 'reserved' });
    expect(health.record).toMatchObject({ plane: 'reserved', route: '/_mailgate/healthz' });
    expect(health.asked).toEqual(['public']);
    // The catch-all public route never exposes the admin-only reserved paths.
    const metrics = await resolve(request('/_mailgate/metrics'));
    expect(metrics.resolution).toMatchObject({ kind: 'refused', code: 'forbidden' });
    expect(metrics.asked).toEqual(['admin']);
  });

  it('404 when no route matches, before any guard', async () => {
    const narrow: PipelineState = { ...state, routes: new RouteTable([route('/admin', { auth: 'admin' })]) };
    asked.length = 0;
    const req = request('/other');
    const resolution = await resolveRequest(req, narrow, newRequestRecord(req.method));
    expect(resolution).toEqual({ kind: 'refused', code: 'not_found' });
    expect(asked).toEqual([]);
  });
});
