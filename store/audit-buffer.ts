/**
 * @module Batches audit records from the request path into one transaction a second, so auditing every
 * admin-plane request costs no synchronous disk write per request. Identical records within one batch
 * (the same client hammering the same path with the same outcome) become one record with a `count`;
 * tallied records (denials) stay one record across batches until their window ends, its `count` and
 * `last` updated in place, so a flood adds a row per window instead of a row per request.
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
  /** Tallied: counts into one row until this time (epoch ms). */
  until?: number;
  last?: number;
}

/** A tallied record already written: its row and the count so far. */
interface Tally {
  id: number;
  count: number;
  until: number;
}

export class AuditBuffer {
  readonly #db: Database;
  #pending = new Map<string, Pending>();
  readonly #tallies = new Map<string, Tally>();
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
    this.#timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.#timer.unref();
  }

  /**
   * Counts one more of the record `key` stands for when one is queued in this batch; false when none is
   * (then push it). Lets a caller spare the `make` closure of a repeat, the common case on a hot path.
   * @throws ClosedError after close().
   */
  count(key: string): boolean {
    if (this.#closed) throw new ClosedError('audit buffer');
    const pending = this.#pending.get(key);
    if (pending === undefined) return false;
    pending.count++;
    return true;
  }

  /**
   * Queues the record `key` stands for. Records with the same key within one batch are written once with
   * a `count`; `make` runs only for the first of them, so a repeat costs a map lookup.
   * @param key identifies the record: equal keys must describe equal records.
   * @throws ClosedError after close().
   */
  push(key: string, make: () => AuditRecord): void {
    if (this.count(key)) return;
    const record = make();
    this.#pending.set(key, { record: { ...record, at: record.at ?? this.#now() }, count: 1 });
    if (this.#pending.size >= MAX_QUEUED) this.flush();
  }

  /**
   * Counts the record `key` stands for into one row that lives until `until` (epoch ms; put the window
   * in the key too): the first push writes it, later ones update its `detail.count` and `detail.last`.
   * `make` runs once per key and window.
   * @throws ClosedError after close().
   */
  tally(key: string, until: number, make: () => AuditRecord): void {
    if (this.#closed) throw new ClosedError('audit buffer');
    const now = this.#now();
    const pending = this.#pending.get(key);
    if (pending) {
      pending.count++;
      pending.last = now;
      return;
    }
    const record = make();
    this.#pending.set(key, { record: { ...record, at: record.at ?? now }, count: 1, until, last: now });
    if (this.#pending.size >= MAX_QUEUED) this.flush();
  }

  /** Writes everything queued in one transaction. */
  flush(): void {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    const now = this.#now();
    for (const [key, tally] of this.#tallies) if (tally.until <= now) this.#tallies.delete(key);
    this.#db.transaction(() => {
      for (const [key, pending] of batch) {
        if (pending.until === undefined) {
          const { record, count } = pending;
          appendAudit(this.#db, count === 1 ? record : { ...record, detail: { ...record.detail, count } });
        } else {
          this.#writeTally(key, pending);
        }
      }
    })();
  }

  #writeTally(key: string, { record, count, until, last }: Pending) {
    const tally = this.#tallies.get(key);
    if (tally) {
      tally.count += count;
      this.#db
        .prepare("UPDATE audit SET detail = json_set(detail, '$.count', ?, '$.last', ?) WHERE id = ?")
        .run(tally.count, last, tally.id);
      return;
    }
    const id = appendAudit(this.#db, { ...record, detail: { ...record.detail, count, last } });
    this.#tallies.set(key, { id, count, until: until! });
  }

  /** Flushes and stops the timer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.flush();
  }
}
