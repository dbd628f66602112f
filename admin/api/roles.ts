/**
 * @module Role checks for admin API endpoints: viewer reads, operator also revokes, admin also issues.
 */
import type { MiddlewareHandler } from 'hono';
import type { AdminEnv } from '../admin-env.js';
import type { AdminRole } from '../admin-policy.js';
import { ApiError } from './api-error.js';

/** Each role includes every role ranked below it. */
const RANK: Record<AdminRole, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when `role` may do what `minimum` may; a missing role may do nothing (fail closed). */
export function roleAtLeast(role: AdminRole | undefined, minimum: AdminRole): boolean {
  return role !== undefined && RANK[role] >= RANK[minimum];
}

/**
 * Refuses the request with 403 `forbidden` unless the admin-plane guard's decision carries `minimum` or
 * a higher role. The guard admits every role on reserved admin paths, so this is the only role check the
 * API gets; a request without a decision (a wiring bug) is refused too.
 * @example app.post('/certificates/:serial/revoke', requireRole('operator'), handler)
 */
export function requireRole(minimum: AdminRole): MiddlewareHandler<AdminEnv> {
  return async function requireRoleMiddleware(c, next) {
    if (!roleAtLeast(c.get('decision')?.role, minimum)) {
      throw new ApiError('forbidden', `this endpoint needs the ${minimum} role or higher`);
    }
    await next();
  };
}
