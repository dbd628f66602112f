/**
 * @module Batches audit records from the request path into one transaction a second, so auditing every
 * admin-plane request costs no synchronous disk write per request.
 */
import { ClosedError } from '../lib/errors.js';
import { type AuditRecord, appendAudit } from './audit.js';
import type { Database } from './database.js';

const FLUSH_INTERVAL_MS = 1_000;
/** Past this many queued records the buffer flushes at once rather than grow. */
const MAX_QUEUED = 5_000;

export class AuditBuffer {
  readonly #db: Database;
  #queue: AuditRecord[] = [];
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(db: Database) {
    this.#db = db;
    this.#timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Queues a record (its time is taken now). @throws ClosedError after close(). */
  push(record: AuditRecord): void {
    if (this.#closed) throw new ClosedError('audit buffer');
    this.#queue.push({ ...record, at: record.at ?? Date.now() });
    if (this.#queue.length >= MAX_QUEUED) this.flush();
  }

  /** Writes everything queued in one transaction. */
  flush(): void {
    if (this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    this.#db.transaction(() => {
      for (const record of batch) appendAudit(this.#db, record);
    })();
  }

  /** Flushes and stops the timer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.flush();
  }
}
