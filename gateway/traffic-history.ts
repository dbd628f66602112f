/**
 * @module The last hour of traffic for the admin console's charts: requests and their latency per plane,
 * and denials, read from the metric counters on a timer (never on the request path) at every bucket
 * boundary, and kept as counts per bucket (gateway/traffic-buckets.ts).
 */
import type { ProcessFigures, ProcessLoad, TrafficScope } from '../admin/api/traffic.js';
import type { GatewayMetrics } from './metrics.js';
import {
  addCounts,
  bucketStart,
  CHARTED_PLANES,
  increaseOf,
  mergeBuckets,
  TRAFFIC_INTERVAL_MS,
  TRAFFIC_KEEP_MS,
  type TrafficBucket,
  type TrafficCounts,
  type TrafficView,
  zeroCounts,
} from './traffic-buckets.js';

/** A timer set for a boundary fires this late on purpose, so the clock it reads is past the boundary. */
const BOUNDARY_MARGIN_MS = 5;

/** Buckets by start: counts added to a start already held are summed. */
export class TrafficStore {
  readonly #intervalMs: number;
  readonly #keepMs: number;
  readonly #buckets = new Map<number, TrafficCounts>();

  constructor({ intervalMs = TRAFFIC_INTERVAL_MS, keepMs = TRAFFIC_KEEP_MS } = {}) {
    if (!(intervalMs > 0) || !(keepMs >= intervalMs)) throw new TypeError('keepMs must be >= intervalMs > 0');
    this.#intervalMs = intervalMs;
    this.#keepMs = keepMs;
  }

  /**
   * Adds a bucket's counts (copied) and forgets the buckets that left the window ending `now`. A bucket
   * outside that window (before it, or starting after `now`) is not kept: false. What is held stays
   * bounded whatever starts a sender makes up.
   */
  add({ start, counts }: TrafficBucket, now: number): boolean {
    const oldest = bucketStart(now - this.#keepMs, this.#intervalMs);
    if (start < oldest || start > now) return false;
    let held = this.#buckets.get(start);
    if (!held) {
      held = zeroCounts();
      this.#buckets.set(start, held);
    }
    addCounts(held, counts);
    for (const kept of this.#buckets.keys()) if (kept < oldest) this.#buckets.delete(kept);
    return true;
  }

  /** The buckets held, with `extra` (buckets still filling) added in, oldest first, in the window. */
  view(
    now: number,
    extra: readonly TrafficBucket[],
    scope: TrafficScope,
    processes: ProcessFigures[] = [],
  ): TrafficView {
    const held = [...this.#buckets].map(([start, counts]) => ({ start, counts }));
    const options = { intervalMs: this.#intervalMs, keepMs: this.#keepMs };
    return { now, buckets: mergeBuckets([held, extra], now, options), scope, processes };
  }
}

export interface TrafficHistoryOptions {
  /** Reads the cumulative counters; default none (record() only, for tests). */
  read?: (() => Promise<TrafficCounts>) | undefined;
  intervalMs?: number;
  keepMs?: number;
  now?: () => number;
}

/**
 * This process's traffic: what the counters grew by since the last boundary goes into the bucket that was
 * filling then. The counters start at 0 with the process, so the first bucket counts from the start. The
 * timer is unref'd: it never keeps the process alive.
 * @example const history = new TrafficHistory({ read: () => trafficTotals(metrics) }); history.start();
 */
export class TrafficHistory {
  readonly #read: (() => Promise<TrafficCounts>) | undefined;
  readonly #bucketListeners: Array<(bucket: TrafficBucket) => void> = [];
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #store: TrafficStore;
  /** The counters at the last boundary, and the bucket filling since. */
  #last: TrafficCounts = zeroCounts();
  #filling: number;
  #timer: NodeJS.Timeout | undefined;

  constructor({
    read,
    intervalMs = TRAFFIC_INTERVAL_MS,
    keepMs = TRAFFIC_KEEP_MS,
    now = Date.now,
  }: TrafficHistoryOptions = {}) {
    this.#store = new TrafficStore({ intervalMs, keepMs });
    this.#read = read;
    this.#intervalMs = intervalMs;
    this.#now = now;
    this.#filling = bucketStart(now(), intervalMs);
  }

  /** Reads the counters at every bucket boundary from now on. */
  start(): void {
    if (this.#timer || !this.#read) return;
    const wait = this.#intervalMs - (this.#now() % this.#intervalMs) + BOUNDARY_MARGIN_MS;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.sample();
      this.start();
    }, wait);
    this.#timer.unref();
  }

  /** Reads the counters and closes the filling bucket; a failed read is skipped (the next one catches up). */
  async sample(): Promise<void> {
    if (!this.#read) return;
    let totals: TrafficCounts;
    try {
      totals = await this.#read();
    } catch {
      // A collection failure is already visible on /_mailgate/metrics; its counts go to the next bucket.
      return;
    }
    this.record(this.#now(), totals);
  }

  /** Closes the filling bucket with the counters read at `at`; the next one starts at `at`'s bucket. */
  record(at: number, totals: TrafficCounts): void {
    const bucket = { start: this.#filling, counts: increaseOf(this.#last, totals) };
    this.#last = totals;
    this.#filling = bucketStart(at, this.#intervalMs);
    this.#store.add(bucket, at);
    for (const listener of this.#bucketListeners) listener(bucket);
  }

  /** Calls `listener` with each bucket once it closed (a worker sends it to the primary). */
  onBucket(listener: (bucket: TrafficBucket) => void): void {
    this.#bucketListeners.push(listener);
  }

  /**
   * The filling bucket as the counters stand now (not closed). When its boundary already passed (the
   * timer has not run yet) it is closed first, so its listeners have it before this answer: a read after
   * a boundary never leaves the closed bucket's counts only in a filling one that a dying worker takes
   * with it.
   */
  async current(): Promise<TrafficBucket> {
    const totals = this.#read ? await this.#read() : this.#last;
    const at = this.#now();
    if (bucketStart(at, this.#intervalMs) > this.#filling) this.record(at, totals);
    return { start: this.#filling, counts: increaseOf(this.#last, totals) };
  }

  /** This process's buckets up to now. */
  async view(
    scope: TrafficScope = { kind: 'process' },
    processes: ProcessFigures[] = [],
  ): Promise<TrafficView> {
    const filling = await this.current();
    return this.#store.view(this.#now(), [filling], scope, processes);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** The cumulative counts of mailgate_http_request_duration_seconds (by plane) and mailgate_auth_denied_total. */
export async function trafficTotals(metrics: GatewayMetrics): Promise<TrafficCounts> {
  const totals = zeroCounts();
  for (const plane of CHARTED_PLANES) {
    const slots = metrics.duration.slotCounts(plane);
    if (slots) totals.latency[plane] = [...slots];
  }
  for (const { value } of (await metrics.authDenied.get()).values) totals.denied += value;
  return totals;
}

/** What this process says of itself for the console. */
export function processLoad(connections: { connections: number; inFlight: number }): ProcessLoad {
  return { uptimeSeconds: Math.round(process.uptime()), rssBytes: process.memoryUsage.rss(), ...connections };
}
