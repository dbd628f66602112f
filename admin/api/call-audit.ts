/**
 * @module The audit trail of admin API calls: one record per call (allowed, refused or failed, reads
 * included) with actor `cert:<serial>`. Changes write their record inside their own transaction.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { type AuditRecord, appendAudit } from '../../store/audit.js';
import type { Database } from '../../store/database.js';
import type { AdminEnv } from '../admin-env.js';
import { toApiError } from './api-error.js';

/** The admin API call being handled. */
export interface ApiCall {
  /** e.g. 'api.certificates.revoke'. */
  action: string;
  /** What the call acts on (serial, token id); defaults to the route's first path parameter. */
  target: string | undefined;
  /** The handler already wrote the record, inside the transaction of its change. */
  audited: boolean;
}

declare module 'hono' {
  interface ContextVariableMap {
    adminApiCall: ApiCall;
  }
}

/** The audit actor of a call: the client certificate's serial, as the admin-plane guard records it. */
export function apiActor(c: Context<AdminEnv>): string {
  return `cert:${c.get('decision')?.principal ?? 'unknown'}`;
}

/** The audit record of the current call, answered with `status`. */
function callRecord(c: Context<AdminEnv>, status: number): AuditRecord {
  const call = c.get('adminApiCall');
  const decision = c.get('decision');
  const code = status >= 400 ? (toApiError(c.error)?.code ?? 'internal_error') : undefined;
  return {
    actor: apiActor(c),
    action: call.action,
    target: call.target,
    outcome: status < 400 ? 'ok' : status === 403 ? 'denied' : 'error',
    detail: {
      role: decision?.role ?? null,
      cn: decision?.identity?.['x-mailgate-client-cn'] ?? null,
      status,
      ...(code !== undefined && { code }),
    },
  };
}

/**
 * Runs `change` and the call's audit record in one transaction (nested transactions of `change` become
 * savepoints), so the change and its record land together or not at all.
 */
export function auditedChange<T>(c: Context<AdminEnv>, db: Database, status: number, change: () => T): T {
  const result = db
    .transaction(() => {
      const value = change();
      appendAudit(db, callRecord(c, status));
      return value;
    })
    .immediate();
  // Only once committed: a rolled-back record must be written again, as a failure, by the middleware.
  c.get('adminApiCall').audited = true;
  return result;
}

/**
 * Returns a factory of per-endpoint middleware: put `audited('api.x.y')` first on each route, so that
 * role refusals, validation errors and failures are recorded too. Records are written after the
 * response is decided, unless the handler wrote its own inside its transaction.
 * @example const audited = auditCalls(db); app.get('/audit', audited('api.audit.read'), requireRole('viewer'), h)
 */
export function auditCalls(db: Database): (action: string) => MiddlewareHandler<AdminEnv> {
  return (action) =>
    async function auditCallMiddleware(c, next) {
      const target = Object.values(c.req.param() as Record<string, string>)[0];
      c.set('adminApiCall', { action, target, audited: false });
      await next();
      if (!c.get('adminApiCall').audited) appendAudit(db, callRecord(c, c.res.status));
    };
}
