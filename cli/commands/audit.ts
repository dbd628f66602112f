/**
 * @module `mailgate audit [--since 24h] [--json]`: read the audit trail.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '../../lib/duration.js';
import { UsageError } from '../../lib/errors.js';
import { type AuditEntry, readAudit } from '../../store/audit.js';
import { DATABASE_FILE, openDatabase } from '../../store/database.js';
import type { FlagValues } from '../command-spec.js';
import type { CliContext } from '../context.js';
import { optionalString } from '../flags.js';

/** Prints the records of the last `--since` (default 24h), oldest first. */
export async function audit(flags: FlagValues, ctx: CliContext): Promise<void> {
  const sinceText = optionalString(flags, 'since') ?? '24h';
  const sinceMs = parseDuration(sinceText);
  if (sinceMs === undefined)
    throw new UsageError(`--since must be a duration such as 30m, 24h or 7d, got '${sinceText}'`);
  let entries: AuditEntry[] = [];
  if (existsSync(join(ctx.dataDir, DATABASE_FILE))) {
    const db = openDatabase(ctx.dataDir);
    try {
      entries = readAudit(db, Date.now() - sinceMs);
    } finally {
      db.close();
    }
  }
  const rows = entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
  if (ctx.json) {
    ctx.out(JSON.stringify({ since: new Date(Date.now() - sinceMs).toISOString(), entries: rows }));
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
}
