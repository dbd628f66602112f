/**
 * @module Admin-plane denials into the audit trail, tallied per client (its address's limit key: an IPv6
 * client by its prefix), reason and certificate per time window: one row with a count, not one per
 * request, so that a scan of distinct paths or addresses cannot grow the store or push the records that
 * matter out of sight (issue 12).
 */
import type { AuditBuffer } from '../store/audit-buffer.js';

/** Tallies are per this window: a flood adds at most one row per client, reason and window. */
export const DENIAL_WINDOW_MS = 5 * 60_000;
/**
 * Distinct tallies per window; past it, denials fold into one row per reason with client `*`. Bounds a
 * flood from many clients (many IPv6 prefixes) to about 256 rows of some 300 bytes per window.
 */
export const MAX_TALLIES_PER_WINDOW = 256;
/** Longest target kept: the path a scanner chose, truncated. */
const MAX_TARGET = 120;

export interface AdminDenial {
  /** Client address (after trusted proxies) or the socket's peer. */
  client: string;
  /** The admin-policy or cross-site refusal reason. */
  reason: string;
  /** Certificate serial, when one was presented. */
  principal: string | undefined;
  /** `METHOD path`, truncated here. */
  target: string;
  detail?: Record<string, unknown> | undefined;
}

export interface DenialAuditOptions {
  audit: AuditBuffer;
  /** The limit key of a client address (the gateway's AddressLimits keys): addresses with one key share a tally. */
  keyOf: (address: string) => string;
  windowMs?: number;
  maxTalliesPerWindow?: number;
  now?: () => number;
}

/**
 * Returns the function that records one denial. The first denial of a tally sets its target and detail
 * (its full client address, and `clientPrefix` when the tally counts an IPv6 prefix); later ones only
 * count (`detail.count`, `detail.last`).
 * @example const recordDenial = createDenialAudit({ audit, keyOf }); recordDenial({ client, reason, principal, target })
 */
export function createDenialAudit({
  audit,
  keyOf,
  windowMs = DENIAL_WINDOW_MS,
  maxTalliesPerWindow = MAX_TALLIES_PER_WINDOW,
  now = Date.now,
}: DenialAuditOptions): (denial: AdminDenial) => void {
  let window = -1;
  const seen = new Set<string>();
  return function recordDenial(denial: AdminDenial): void {
    const current = Math.floor(now() / windowMs);
    if (current !== window) {
      window = current;
      seen.clear();
    }
    const client = keyOf(denial.client);
    let key = `${window}\u0000${client}\u0000${denial.reason}\u0000${denial.principal ?? ''}`;
    let folded = false;
    if (!seen.has(key)) {
      if (seen.size >= maxTalliesPerWindow) {
        key = `${window}\u0000*\u0000${denial.reason}`;
        folded = true;
      }
      seen.add(key);
    }
    audit.tally(key, (window + 1) * windowMs, () => ({
      actor: folded ? 'addr:*' : denial.principal ? `cert:${denial.principal}` : `addr:${denial.client}`,
      action: 'admin.access',
      target: denial.target.length > MAX_TARGET ? `${denial.target.slice(0, MAX_TARGET)}…` : denial.target,
      outcome: 'denied',
      detail: {
        client: folded ? '*' : denial.client,
        ...(!folded && client !== denial.client && client.includes('/') && { clientPrefix: client }),
        reason: denial.reason,
        ...(!folded && denial.detail),
        windowSeconds: windowMs / 1000,
      },
    }));
  };
}
