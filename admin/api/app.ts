/**
 * @module The admin API: a Hono sub-app the gateway mounts at /_mailgate/admin/api, behind the admin-plane
 * guard. Roles are checked per endpoint; every call is audited; errors are JSON with a stable code.
 */
import { Hono } from 'hono';
import type { AdminEnv } from '../admin-env.js';
import { ApiError, toApiError } from './api-error.js';
import { auditRoutes } from './audit.js';
import { auditCalls } from './call-audit.js';
import { certificateRoutes } from './certificates.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import type { AdminApiOptions } from './options.js';
import { requireRole } from './roles.js';
import { statusRoutes } from './status.js';
import { tokenRoutes } from './tokens.js';
import { trafficRoutes } from './traffic.js';

/** Where the gateway mounts the API (reserved-app.ts). */
export const ADMIN_API_BASE = '/_mailgate/admin/api';

/**
 * Creates the admin API. The host app must set the variable `decision` (the admin-plane guard's
 * `Allowed`, with `role` and `principal`) before these routes run; without it every endpoint answers 403.
 * Unexpected failures are re-thrown to the host app's onError, which logs them and answers a plain 500.
 * @example createReservedApp({ ..., adminApi: createAdminApi({ db, dataDir, config, status: () => ({ upstreams }) }) })
 */
export function createAdminApi(options: AdminApiOptions): Hono<AdminEnv> {
  const audited = auditCalls(options.db);
  const app = new Hono<AdminEnv>();
  app.use(async function noStore(c, next) {
    // Responses hold private keys, tokens and the audit trail: no cache may keep them.
    c.header('cache-control', 'no-store');
    await next();
  });
  app.route('/status', statusRoutes(options));
  app.route('/certificates', certificateRoutes(options));
  app.route('/tokens', tokenRoutes(options));
  app.route('/traffic', trafficRoutes(options));
  app.route('/audit', auditRoutes(options));
  app.get('/openapi.json', audited('api.openapi'), requireRole('viewer'), (c) => c.json(OPENAPI_DOCUMENT));
  app.all('*', audited('api.unknown'), (c) => {
    c.get('adminApiCall').target = `${c.req.method} ${c.req.path}`;
    throw new ApiError('not_found', 'no such admin API endpoint');
  });
  app.onError((error, c) => {
    const refusal = toApiError(error);
    if (!refusal) throw error;
    return c.json(refusal.toJSON(), refusal.status);
  });
  return app;
}
