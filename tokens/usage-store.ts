/**
 * @module SQL for daily quota counts (token_usage) and tokens.last_used_at, written in batches.
 */
import type { Database } from '../store/database.js';

/** Counts of one UTC day, by token id. */
export function loadUsage(db: Database, day: string): Map<string, number> {
  const rows = db.prepare('SELECT token_id, count FROM token_usage WHERE day = ?').all(day) as Array<{
    token_id: string;
    count: number;
  }>;
  return new Map(rows.map((row) => [row.token_id, row.count]));
}

/**
 * Adds the deltas (day -> token id -> requests) and raises last_used_at, in one transaction, so a
 * failure leaves the store as it was and the caller may retry the same batch.
 */
export function writeUsage(
  db: Database,
  deltas: ReadonlyMap<string, ReadonlyMap<string, number>>,
  lastUsed: ReadonlyMap<string, number>,
): void {
  const add = db.prepare(
    `INSERT INTO token_usage (token_id, day, count) VALUES (?, ?, ?)
     ON CONFLICT (token_id, day) DO UPDATE SET count = count + excluded.count`,
  );
  const touch = db.prepare(
    'UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
  );
  db.transaction(() => {
    for (const [day, counts] of deltas) for (const [id, delta] of counts) add.run(id, day, delta);
    for (const [id, at] of lastUsed) touch.run(at, id, at);
  })();
}

/** Deletes counts of days before `day` (YYYY-MM-DD). */
export function pruneUsage(db: Database, beforeDay: string): void {
  db.prepare('DELETE FROM token_usage WHERE day < ?').run(beforeDay);
}

/**
 * Raises today's stored counts to `counts` (day -> never lowered) and marks those tokens used at `usedAt`:
 * quota counts kept elsewhere (Redis, with several nodes) copied into the store the console reads.
 * Returns how many rows grew.
 */
export function raiseUsage(
  db: Database,
  day: string,
  counts: ReadonlyMap<string, number>,
  usedAt: number,
): number {
  const raise = db.prepare(
    `INSERT INTO token_usage (token_id, day, count) VALUES (?, ?, ?)
     ON CONFLICT (token_id, day) DO UPDATE SET count = excluded.count WHERE excluded.count > count`,
  );
  const touch = db.prepare(
    'UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
  );
  return db.transaction(() => {
    let grown = 0;
    for (const [id, count] of counts) {
      if (raise.run(id, day, count).changes === 0) continue;
      grown++;
      touch.run(usedAt, id, usedAt);
    }
    return grown;
  })();
}
