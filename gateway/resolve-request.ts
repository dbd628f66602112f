/**
 * @module The one decision path for every request and upgrade: canonical path, reserved paths, route
 * match, plane guard. Fills the request record for the access line.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { AddressSet } from '../lib/cidr.js';
import type { AddressLimits } from './address-limits.js';
import { type CanonicalTarget, canonicalizeTarget } from './canonical-path.js';
import { clientAddress, plainAddress } from './client-address.js';
import { forwardHeaders } from './forward-headers.js';
import type { GatewayErrorCode } from './http-error.js';
import { arrivedOnAdminListener } from './listeners.js';
import {
  type Allowed,
  type GatewayRequest,
  type GuardDecision,
  type GuardInput,
  isHttp2Request,
  type Plane,
  type PlaneGuard,
} from './plane-guard.js';
import type { GatewayResponse } from './proxy.js';
import type { RequestRecord } from './request-record.js';
import { normalizeHost, type Route, type RouteTable } from './route-table.js';
import type { Upstreams } from './upstreams.js';

/** Reserved paths and which plane guards them. */
export type ReservedPlane = 'public' | 'admin';

/** A reserved path's plane and its metric label (a fixed set: never the raw path, which a client chooses). */
export interface ReservedPath {
  plane: ReservedPlane;
  label: string;
}

/** Everything the pipeline needs; swapped as a whole on reload, read once per request. */
export interface PipelineState {
  routes: RouteTable;
  upstreams: Upstreams;
  guards: Record<Plane, PlaneGuard>;
  trustedProxies: AddressSet;
  /** Per-address request rate (lives as long as the gateway, not one configuration). */
  addressLimits: AddressLimits;
  /** Plane and metric label of a reserved path (`/_mailgate/...`, `/.well-known/jwks.json`); undefined = not reserved. */
  reservedPath: (matchPath: string) => ReservedPath | undefined;
  /** Serves a reserved path (the Hono app). */
  serveReserved: (
    req: GatewayRequest,
    res: GatewayResponse,
    decision: Allowed,
    requestId: string,
  ) => Promise<void>;
  /** Strict-Transport-Security for responses over TLS that carry none from the upstream (`tls.hsts`). */
  hsts: string | undefined;
  /** `admin.listenerOnly`: admin-plane reserved paths answer 404 unless the request came through listen.admin. */
  adminListenerOnly: boolean;
}

export interface ProxyResolution {
  kind: 'proxy';
  route: Route;
  target: CanonicalTarget;
  decision: Allowed;
}

/** The outcome of the checks every request passes before anything is forwarded or served. */
export type Resolution =
  | { kind: 'refused'; code: GatewayErrorCode; reason?: string; headers?: OutgoingHttpHeaders | undefined }
  | { kind: 'reserved'; decision: Allowed }
  | ProxyResolution;

/**
 * Canonical path, route match and plane guard: the one decision path for plain requests and upgrades.
 * Fills `record` (path, route, plane, client, principal) for the access line.
 */
export function resolveRequest(
  req: GatewayRequest,
  state: PipelineState,
  record: RequestRecord,
): Resolution | Promise<Resolution> {
  record.client = clientAddress(
    req.socket.remoteAddress,
    req.headers['x-forwarded-for'],
    state.trustedProxies,
  );
  // Per request: behind a trusted proxy the address may change from one request to the next.
  record.limitKey = state.addressLimits.keys.of(record.client);
  // Before any other work: a flood is refused at the cost of one bucket update per request.
  const retryAfter = state.addressLimits.takeRequest(record.limitKey, Math.floor(record.start));
  if (retryAfter > 0) {
    // One access line (its `denied` member), no separate warning: a flood must not multiply log lines.
    record.denied = 'client_rate';
    record.path = (req.url ?? '').slice(0, 256);
    return { kind: 'refused', code: 'rate_limited', headers: { 'retry-after': String(retryAfter) } };
  }
  const rawUrl = req.url ?? '';
  const target = canonicalizeTarget(rawUrl);
  if (typeof target === 'string') {
    record.path = rawUrl.slice(0, 256);
    return { kind: 'refused', code: 'bad_request', reason: `path_${target}` };
  }
  record.path = target.path;
  if (!isHttp2Request(req)) {
    const hostProblem = http1HostProblem(req);
    if (hostProblem) return { kind: 'refused', code: 'bad_request', reason: hostProblem };
  }
  const input: GuardInput = {
    req,
    route: undefined,
    host: normalizeHost(requestAuthority(req)),
    path: target.path,
    clientAddress: record.client,
    peerAddress: plainAddress(req.socket.remoteAddress),
  };
  const reserved = state.reservedPath(target.matchPath);
  let route: Route | undefined;
  if (reserved !== undefined) {
    record.route = reserved.label;
    record.plane = reserved.plane;
    // Not found, not forbidden: the public listener does not say that an admin plane exists at all.
    if (reserved.plane === 'admin' && state.adminListenerOnly && !arrivedOnAdminListener(req))
      return { kind: 'refused', code: 'not_found', reason: 'admin_listener_only' };
  } else {
    route = state.routes.match(input.host, target.matchPath);
    if (!route) return { kind: 'refused', code: 'not_found' };
    record.route = route.label;
    record.plane = route.auth;
    input.route = route;
  }
  // Public and admin guards decide synchronously: only the token guard costs a promise.
  const pending = state.guards[record.plane as Plane](input);
  if (pending instanceof Promise)
    return pending.then((decision) => conclude(decision, record, route, target));
  return conclude(pending, record, route, target);
}

function conclude(
  decision: GuardDecision,
  record: RequestRecord,
  route: Route | undefined,
  target: CanonicalTarget,
): Resolution {
  record.principal = decision.principal;
  if (!decision.allowed)
    return {
      kind: 'refused',
      code: decision.code,
      reason: decision.reason,
      headers: decision.responseHeaders,
    };
  if (!route) {
    record.plane = 'reserved';
    return { kind: 'reserved', decision };
  }
  return { kind: 'proxy', route, target, decision };
}

/**
 * RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host (Node keeps the first of several and the
 * h2 server's HTTP/1.1 fallback does not require one). Undefined when the request is fine.
 */
function http1HostProblem(req: GatewayRequest): string | undefined {
  if (req.headers.host === undefined) return req.httpVersionMinor === 1 ? 'host_missing' : undefined;
  const raw = req.rawHeaders;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++seen > 1) return 'host_repeated';
  }
  return undefined;
}

/** Host as received: HTTP/1.1 Host, or the h2 :authority. */
export function requestAuthority(req: GatewayRequest): string {
  return req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? '';
}

/** The forwarded request's headers for a resolved route. */
export function upstreamHeaders(req: GatewayRequest, record: RequestRecord, route: Route, decision: Allowed) {
  return forwardHeaders(req.headers, {
    clientAddress: record.client,
    host: requestAuthority(req),
    requestId: record.id,
    keepApiKey: route.auth === 'admin',
    keepAuthorization: route.auth !== 'token' || route.forwardAuthorization,
    identity: decision.identity,
    // Only the plain-HTTP listener's ACME passthrough reaches here unencrypted.
    proto: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
  });
}
