/**
 * @module The reserved paths (docs/security.md): health, readiness, CA and CRL, JWKS, metrics, and the
 * mount points of the admin API and the admin console, as a Hono app. The pipeline has already applied
 * each path's plane guard.
 */
import { getRequestListener } from '@hono/node-server';
import { type Handler, Hono, type MiddlewareHandler } from 'hono';
import type { Registry } from 'prom-client';
import type { AdminEnv } from '../admin/admin-env.js';
import { lazily } from '../lib/lazily.js';
import { type CrossSiteRefused, crossSiteGuard } from './cross-site-guard.js';
import { errorResponse } from './http-error.js';
import type { Logger } from './logger.js';
import type { Allowed, GatewayRequest } from './plane-guard.js';
import type { GatewayResponse } from './proxy.js';
import type { ReservedPath } from './resolve-request.js';

/** Reserved paths open to everyone; every other `/_mailgate/...` path is on the admin plane (fail closed). */
const PUBLIC_RESERVED = new Map<string, ReservedPath>(
  [
    '/_mailgate/healthz',
    '/_mailgate/readyz',
    '/_mailgate/ca.pem',
    '/_mailgate/crl.pem',
    '/.well-known/jwks.json',
  ].map((path) => [path, { plane: 'public', label: path }]),
);
const METRICS: ReservedPath = { plane: 'admin', label: '/_mailgate/metrics' };
const ADMIN_API: ReservedPath = { plane: 'admin', label: '/_mailgate/admin' };
const OTHER_ADMIN: ReservedPath = { plane: 'admin', label: '/_mailgate/*' };

/** Which plane guards a canonical (lower-cased) path and how metrics name it; undefined when not reserved. */
export function reservedPath(matchPath: string): ReservedPath | undefined {
  const open = PUBLIC_RESERVED.get(matchPath);
  if (open) return open;
  if (matchPath === '/_mailgate/metrics') return METRICS;
  if (matchPath === '/_mailgate/admin' || matchPath.startsWith('/_mailgate/admin/')) return ADMIN_API;
  if (matchPath === '/_mailgate' || matchPath.startsWith('/_mailgate/')) return OTHER_ADMIN;
  return undefined;
}

export interface ReservedAppOptions {
  /** The exposition: this process's registry, or under workers the whole gateway's, merged by the primary. */
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  caPem: () => string;
  crlPem: () => string;
  /** Public keys that verify send-plane tokens. */
  jwks: () => unknown;
  /** False while draining or before the listeners are up. */
  ready: () => boolean;
  logger: Logger;
  /**
   * Loads the admin API (its routes relative to /_mailgate/admin/api, where it is mounted); called once, on
   * its first request, like the console's.
   */
  adminApi?: (() => Promise<Hono<AdminEnv>>) | undefined;
  /** config.publicUrl: the gateway's own origin for the cross-site check. */
  publicUrl: string;
  /** Told about each cross-site refusal on the admin plane. */
  onCrossSiteRefused?: ((refusal: CrossSiteRefused) => void) | undefined;
  /**
   * Loads the admin console, served at every other /_mailgate/admin path; called once, on its first
   * request, so a gateway nobody administers through a browser never loads its modules.
   */
  adminConsole?: (() => Promise<Hono<AdminEnv>>) | undefined;
}

/** What the pipeline decided about a reserved request, read by the Hono handlers. */
const reservedContexts = new WeakMap<GatewayRequest, { decision: Allowed; requestId: string }>();

export type ReservedEnv = {
  Bindings: { incoming: GatewayRequest; outgoing: GatewayResponse };
  Variables: { decision: Allowed; requestId: string };
};

/** Where the admin API lives; the rest of /_mailgate/admin/ is the console, whose pages post HTML forms. */
const ADMIN_API_PREFIX = '/_mailgate/admin/api';
const isAdminApi = (path: string) => path === ADMIN_API_PREFIX || path.startsWith(`${ADMIN_API_PREFIX}/`);

/**
 * Sets the `decision` and `requestId` variables from what the pipeline decided; the first middleware of
 * any app that serves reserved requests (this one, and the admin console, handed the same bindings).
 */
export const withReservedContext: MiddlewareHandler<AdminEnv> = async function withReservedContext(c, next) {
  // The admin apps do not name the bindings; they are the ones this app is handed and passes on.
  const context = reservedContexts.get((c.env as ReservedEnv['Bindings']).incoming)!;
  c.set('decision', context.decision);
  c.set('requestId', context.requestId);
  await next();
};

/** An app served under the reserved app (the admin API's mount, the console), whatever its Hono environment. */
interface MountedApp {
  fetch(request: Request, env: ReservedEnv['Bindings']): Response | Promise<Response>;
}

/**
 * A handler serving requests through the app `load` gives, loaded on the first request. That app gets the
 * same bindings (and so reads the same context); headers this app set before it (nosniff) are kept.
 */
function serveLoaded(load: () => Promise<MountedApp>): Handler<ReservedEnv> {
  const loaded = lazily(load);
  return async function serveLoadedApp(c) {
    const response = await (await loaded()).fetch(c.req.raw, c.env);
    return c.newResponse(response.body, response);
  };
}

/**
 * Builds the reserved-path app and returns the function the pipeline calls for a reserved path.
 */
export function createReservedApp(options: ReservedAppOptions) {
  const app = new Hono<ReservedEnv>();
  // Registered first: Hono runs handlers in registration order, and the admin API reads the decision.
  app.use(withReservedContext);
  // Before any admin handler, on every admin-plane path whatever its case (the pipeline matched it
  // case-insensitively): the client certificate comes with cross-site requests too.
  const crossSite = crossSiteGuard({
    publicUrl: options.publicUrl,
    formsAllowed: (path) => !isAdminApi(path),
    onRefused: options.onCrossSiteRefused,
  });
  app.use(function adminPlaneCrossSite(c, next) {
    return reservedPath(c.req.path.toLowerCase())?.plane === 'admin' ? crossSite(c, next) : next();
  });
  const pemHeaders = { 'content-type': 'application/x-pem-file', 'cache-control': 'no-cache' };
  app.get('/_mailgate/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/_mailgate/readyz', (c) =>
    options.ready() ? c.json({ status: 'ready' }) : c.json({ status: 'draining' }, 503),
  );
  app.get('/_mailgate/ca.pem', (c) => c.body(options.caPem(), 200, pemHeaders));
  app.get('/_mailgate/crl.pem', (c) => c.body(options.crlPem(), 200, pemHeaders));
  app.get('/.well-known/jwks.json', (c) =>
    c.json(options.jwks() as object, 200, { 'cache-control': 'max-age=300' }),
  );
  app.get('/_mailgate/metrics', async (c) =>
    c.body(await options.registry.metrics(), 200, { 'content-type': options.registry.contentType }),
  );
  const { adminApi, adminConsole } = options;
  if (adminApi) {
    // Mounted at its prefix in an app of its own once loaded; what the API does not answer itself (an
    // unexpected failure) is thrown on to this app's onError.
    const serveApi = serveLoaded(async () =>
      new Hono<ReservedEnv>()
        .use(withReservedContext)
        .route(ADMIN_API_PREFIX, await adminApi())
        .onError((error) => {
          throw error;
        }),
    );
    app.all(ADMIN_API_PREFIX, serveApi);
    app.all(`${ADMIN_API_PREFIX}/*`, serveApi);
  }
  if (adminConsole) {
    // After the API: its catch-all answers every /_mailgate/admin/api path first. The cross-site guard
    // above has already run.
    const serveConsole = serveLoaded(adminConsole);
    app.all('/_mailgate/admin', serveConsole);
    app.all('/_mailgate/admin/*', serveConsole);
  }
  app.notFound((c) => errorResponse('not_found', c.get('requestId') ?? '-', c.req.header('accept')));
  app.onError((error, c) => {
    const requestId = c.get('requestId') ?? '-';
    options.logger.error({ reqId: requestId, err: error }, 'reserved path failed');
    return errorResponse('internal_error', requestId, c.req.header('accept'));
  });
  const listener = getRequestListener(app.fetch as never);
  return function serveReserved(
    req: GatewayRequest,
    res: GatewayResponse,
    decision: Allowed,
    requestId: string,
  ): Promise<void> {
    reservedContexts.set(req, { decision, requestId });
    return listener(req as never, res as never) as Promise<void>;
  };
}
