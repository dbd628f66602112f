/**
 * @module The audit trail: append and read. Never stores secrets.
 */
import type { Database } from './database.js';

export type AuditOutcome = 'ok' | 'denied' | 'error';

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  detail: Record<string, unknown> | null;
}

export interface AuditRecord {
  actor: string;
  action: string;
  target?: string | undefined;
  outcome?: AuditOutcome;
  detail?: Record<string, unknown> | undefined;
  /** Defaults to now. */
  at?: number;
}

/** Appends one record; call it inside the operation's own transaction so both land or neither. */
export function appendAudit(db: Database, record: AuditRecord): void {
  db.prepare('INSERT INTO audit (at, actor, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)').run(
    record.at ?? Date.now(),
    record.actor,
    record.action,
    record.target ?? null,
    record.outcome ?? 'ok',
    record.detail ? JSON.stringify(record.detail) : null,
  );
}

/** Records since `sinceMs` (epoch ms), oldest first, at most `limit`. */
export function readAudit(db: Database, sinceMs: number, limit = 10_000): AuditEntry[] {
  const rows = db
    .prepare(
      'SELECT id, at, actor, action, target, outcome, detail FROM audit WHERE at >= ? ORDER BY id LIMIT ?',
    )
    .all(sinceMs, limit) as Array<Omit<AuditEntry, 'detail'> & { detail: string | null }>;
  return rows.map((row) => ({ ...row, detail: row.detail ? JSON.parse(row.detail) : null }));
}
