/**
 * @module What the admin API and console read of a request the gateway hands them, declared here by the
 * side that reads it (the gateway's reserved app sets these variables; its environment satisfies this
 * one, so admin/ names nothing of gateway/).
 */
import type { AdminRole } from './admin-policy.js';

/** The admin-plane guard's decision, as far as the admin handlers read it. */
export interface AdminDecision {
  /** The client certificate's role; undefined on a request the guard did not decide (refused). */
  role?: AdminRole | undefined;
  /** The certificate's serial. */
  principal?: string | undefined;
  /** The identity headers the guard built (x-mailgate-client-cn, ...). */
  identity?: Readonly<Record<string, string>> | undefined;
}

/** The Hono environment of every admin app: the guard's decision and the request id. */
export type AdminEnv = {
  Variables: { decision: AdminDecision; requestId: string };
};
