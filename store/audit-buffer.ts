/**
 * @module Batches audit records from the request path into one transaction a second, so auditing every
 * admin-plane request costs no synchronous disk write per request. Identical records within one batch
 * (the same client hammering the same path with the same outcome) become one record with a `count`.
 */
import { ClosedError } from '../lib/errors.js';
import { type AuditRecord, appendAudit } from './audit.js';
import type { Database } from './database.js';

const FLUSH_INTERVAL_MS = 1_000;
/** Past this many distinct queued records the buffer flushes at once rather than grow. */
const MAX_QUEUED = 5_000;

interface Pending {
  record: AuditRecord;
  count: number;
}

export class AuditBuffer {
  readonly #db: Database;
  #pending = new Map<string, Pending>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(db: Database) {
    this.#db = db;
    this.#timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.#timer.unref();
  }

  /**
   * Queues the record `key` stands for. Records with the same key within one batch are written once with
   * a `count`; `make` runs only for the first of them, so a repeat costs a map lookup.
   * @param key identifies the record: equal keys must describe equal records.
   * @throws ClosedError after close().
   */
  push(key: string, make: () => AuditRecord): void {
    if (this.#closed) throw new ClosedError('audit buffer');
    const pending = this.#pending.get(key);
    if (pending) {
      pending.count++;
      return;
    }
    const record = make();
    this.#pending.set(key, { record: { ...record, at: record.at ?? Date.now() }, count: 1 });
    if (this.#pending.size >= MAX_QUEUED) this.flush();
  }

  /** Writes everything queued in one transaction. */
  flush(): void {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#db.transaction(() => {
      for (const { record, count } of batch.values()) {
        appendAudit(this.#db, count === 1 ? record : { ...record, detail: { ...record.detail, count } });
      }
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
