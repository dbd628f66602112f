/**
 * @module The audit trail: append and read. Never stores secrets.
 */
import { UsageError } from '../lib/errors.js';
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

/** Appends one record and returns its id; call it inside the operation's own transaction so both land or neither. */
export function appendAudit(db: Database, record: AuditRecord): number {
  const { lastInsertRowid } = db
    .prepare('INSERT INTO audit (at, actor, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)')
    .run(
      record.at ?? Date.now(),
      record.actor,
      record.action,
      record.target ?? null,
      record.outcome ?? 'ok',
      record.detail ? JSON.stringify(record.detail) : null,
    );
  return Number(lastInsertRowid);
}

/** Records since `sinceMs` (epoch ms), oldest first, at most `limit`. */
export function readAudit(db: Database, sinceMs: number, limit = 10_000): AuditEntry[] {
  const rows = db
    .prepare(
      'SELECT id, at, actor, action, target, outcome, detail FROM audit WHERE at >= ? ORDER BY id LIMIT ?',
    )
    .all(sinceMs, limit) as RawEntry[];
  return rows.map(parseEntry);
}

export interface AuditPageQuery {
  /** Only records at or after this time (epoch ms). */
  since?: number | undefined;
  /** Only records strictly before this time (epoch ms): the `next` of the previous page. */
  before?: number | undefined;
  /** Page size, at least 1. */
  limit: number;
  /** Only this actor (`cert:<serial>`, `cli:root@host`, `addr:10.8.0.2`). */
  actor?: string | undefined;
  /** Only this action, or with a trailing `.` every action it prefixes (`cert.`), matched literally. */
  action?: string | undefined;
  outcome?: AuditOutcome | undefined;
}

/** The WHERE clause and its values for a page query's filters (times included). */
function pageFilter(query: AuditPageQuery): { where: string; values: Array<string | number> } {
  const clauses = ['at >= ?', 'at < ?'];
  const values: Array<string | number> = [query.since ?? 0, query.before ?? Number.MAX_SAFE_INTEGER];
  if (query.actor !== undefined) {
    clauses.push('actor = ?');
    values.push(query.actor);
  }
  if (query.action?.endsWith('.')) {
    clauses.push("action LIKE ? ESCAPE '\\'");
    values.push(`${query.action.replace(/[\\%_]/g, '\\$&')}%`);
  } else if (query.action !== undefined) {
    clauses.push('action = ?');
    values.push(query.action);
  }
  if (query.outcome !== undefined) {
    clauses.push('outcome = ?');
    values.push(query.outcome);
  }
  return { where: clauses.join(' AND '), values };
}

export interface AuditPage {
  /** Newest first. */
  entries: AuditEntry[];
  /** Older records matched but were left out: ask again with `before: next`. */
  next: number | undefined;
}

/**
 * One page of the records, newest first. A page never ends inside a millisecond: records sharing the
 * last one's time all go to the next page (`before` is strict), unless the whole page shares it, then
 * they all stay on this one, so paging with `next` neither skips nor repeats a record.
 * @example let page = readAuditPage(db, { limit: 50 }); page = readAuditPage(db, { limit: 50, before: page.next })
 */
export function readAuditPage(db: Database, query: AuditPageQuery): AuditPage {
  const { where, values } = pageFilter(query);
  const rows = db
    .prepare(
      `SELECT id, at, actor, action, target, outcome, detail FROM audit WHERE ${where}
       ORDER BY at DESC, id DESC LIMIT ?`,
    )
    .all(...values, query.limit + 1) as RawEntry[];
  let next: number | undefined;
  if (rows.length > query.limit) {
    rows.length = query.limit;
    const edge = rows[rows.length - 1]!.at;
    let keep = rows.length;
    while (keep > 0 && rows[keep - 1]!.at === edge) keep--;
    if (keep > 0) {
      rows.length = keep;
    } else {
      // The whole page is one millisecond: take all of it.
      rows.push(
        ...(db
          .prepare(
            `SELECT id, at, actor, action, target, outcome, detail FROM audit
             WHERE ${where} AND at = ? AND id < ? ORDER BY id DESC`,
          )
          .all(...values, edge, rows[rows.length - 1]!.id) as RawEntry[]),
      );
    }
    next = rows[rows.length - 1]!.at;
    if (next <= (query.since ?? 0)) next = undefined;
  }
  return { entries: rows.map(parseEntry), next };
}

/** The distinct actions recorded so far, for a filter's suggestions. */
export function auditActions(db: Database): string[] {
  const rows = db.prepare('SELECT DISTINCT action FROM audit ORDER BY action').all() as Array<{
    action: string;
  }>;
  return rows.map((row) => row.action);
}

/** Deletes the records older than `before` (epoch ms); returns how many. */
export function pruneAudit(db: Database, before: number): number {
  return db.prepare('DELETE FROM audit WHERE at < ?').run(before).changes;
}

type RawEntry = Omit<AuditEntry, 'detail'> & { detail: string | null };

function parseEntry(row: RawEntry): AuditEntry {
  return { ...row, detail: row.detail ? JSON.parse(row.detail) : null };
}

/** Most records one page may hold. */
export const MAX_AUDIT_LIMIT = 10_000;
const DEFAULT_LIMIT = 100;

/**
 * Parses a page size: a whole number from 1 to MAX_AUDIT_LIMIT.
 * @throws UsageError naming the flag.
 */
export function checkAuditLimit(text: string | undefined, flag = '--limit'): number {
  if (text === undefined) return DEFAULT_LIMIT;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_AUDIT_LIMIT)
    throw new UsageError(`${flag} must be a whole number from 1 to ${MAX_AUDIT_LIMIT}, got '${text}'`);
  return Number(text);
}

/**
 * Parses a point in time: an ISO 8601 date-time with a zone (as printed in `at` and the cut notice).
 * @throws UsageError naming the flag.
 */
export function checkAuditTime(text: string | undefined, flag = '--before'): number | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)$/.test(text)
    ? Date.parse(text)
    : NaN;
  if (Number.isNaN(ms))
    throw new UsageError(`${flag} must be an ISO 8601 time such as 2026-01-31T12:00:00.000Z, got '${text}'`);
  return ms;
}
