/**
 * @module `mailgate audit [--since 24h] [--limit 100] [--before TIME] [--json]`: read the audit trail,
 * newest first, one page at a time.
 */
import { parseDuration } from '../../lib/duration.js';
import { UsageError } from '../../lib/errors.js';
import { type AuditPage, checkAuditLimit, checkAuditTime, readAuditPage } from '../../store/audit.js';
import { hasDatabase, withDatabase } from '../../store/database.js';
import type { FlagValues } from '../command-spec.js';
import type { CliContext } from '../context.js';
import { optionalString } from '../flags.js';

/** Prints one page of the records of the last `--since` (default 24h), newest first, and says when it is cut. */
export async function audit(flags: FlagValues, ctx: CliContext): Promise<void> {
  const sinceText = optionalString(flags, 'since') ?? '24h';
  const sinceMs = parseDuration(sinceText);
  if (sinceMs === undefined)
    throw new UsageError(`--since must be a duration such as 30m, 24h or 7d, got '${sinceText}'`);
  const limit = checkAuditLimit(optionalString(flags, 'limit'));
  const before = checkAuditTime(optionalString(flags, 'before'));
  const since = Date.now() - sinceMs;
  // No database yet: nothing was ever recorded (and reading must not create one).
  const page: AuditPage = hasDatabase(ctx.dataDir)
    ? withDatabase(ctx.dataDir, (db) => readAuditPage(db, { since, before, limit }))
    : { entries: [], next: undefined };
  const rows = page.entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
  const next = page.next === undefined ? null : new Date(page.next).toISOString();
  if (ctx.json) {
    ctx.out(JSON.stringify({ since: new Date(since).toISOString(), next, entries: rows }));
    return;
  }
  if (rows.length === 0) ctx.err(`no audit records in the last ${sinceText}`);
  for (const e of rows) {
    ctx.out(
      [
        e.at,
        e.outcome.padEnd(6),
        e.action.padEnd(12),
        e.actor,
        e.target ?? '-',
        e.detail ? JSON.stringify(e.detail) : '',
      ]
        .join('  ')
        .trimEnd(),
    );
  }
  if (next !== null)
    ctx.err(
      `showing the newest ${rows.length} records; older ones: mailgate audit --since ${sinceText} --before ${next}`,
    );
}
