/**
 * @module Notices commits made by other processes (the CLI) within a fraction of a second, by polling
 * `PRAGMA data_version`, which changes only when another connection commits.
 */
import type { Database } from './database.js';

export const CHANGE_POLL_MS = 200;

export class ChangeWatch {
  readonly #db: Database;
  readonly #listeners: Array<() => void> = [];
  readonly #timer: NodeJS.Timeout;
  #version: number;

  /** @param onError called when a listener throws; the watch keeps running. */
  constructor(
    db: Database,
    readonly onError: (error: unknown) => void,
    intervalMs = CHANGE_POLL_MS,
  ) {
    this.#db = db;
    this.#version = this.#read();
    this.#timer = setInterval(() => this.check(), intervalMs);
    this.#timer.unref();
  }

  #read(): number {
    return this.#db.pragma('data_version', { simple: true }) as number;
  }

  /** Calls `listener` after every change made by another connection. */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** Polls once; runs the listeners when the database changed. */
  check(): void {
    const version = this.#read();
    if (version === this.#version) return;
    let failed = false;
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (error) {
        failed = true;
        this.onError(error);
      }
    }
    // A failed refresh (a revocation not applied) is retried at the next poll rather than forgotten.
    if (!failed) this.#version = version;
  }

  /** Idempotent. */
  close(): void {
    clearInterval(this.#timer);
  }
}
