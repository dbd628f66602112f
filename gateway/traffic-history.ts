/**
 * @module The last hour of traffic for the admin console's charts: requests per plane and denials,
 * sampled from the metric counters on a timer (never on the request path) into a fixed ring.
 */
import type { GatewayMetrics } from './metrics.js';

/** The planes the console charts; reserved paths and unmatched requests count as neither. */
export const CHARTED_PLANES = ['public', 'token', 'admin'] as const;
export type ChartedPlane = (typeof CHARTED_PLANES)[number];

/** Cumulative counts since the process started, as the counters hold them. */
export interface TrafficTotals {
  requests: Record<ChartedPlane, number>;
  denied: number;
}

/** Rates between consecutive samples, oldest first; `at[i]` ends interval i. */
export interface TrafficSeries {
  at: number[];
  /** Requests per second, by plane. */
  requestsPerSecond: Record<ChartedPlane, number[]>;
  /** Requests refused by a plane guard or the path canonicaliser, per interval. */
  denied: number[];
}

export interface TrafficHistoryOptions {
  /** Reads the counters; default none (record() only, for tests). */
  read?: (() => Promise<TrafficTotals>) | undefined;
  /** Sampling period, ms. Default 10 s. */
  intervalMs?: number;
  /** How far back the series reach, ms. Default one hour. */
  keepMs?: number;
  now?: () => number;
}

interface Sample {
  at: number;
  totals: TrafficTotals;
}

/**
 * Keeps (keepMs / intervalMs + 1) samples of the counters and turns them into per-interval rates. The
 * timer is unref'd: it never keeps the process alive.
 * @example const history = new TrafficHistory({ read: () => trafficTotals(metrics) }); history.start();
 */
export class TrafficHistory {
  readonly #read: (() => Promise<TrafficTotals>) | undefined;
  readonly #intervalMs: number;
  readonly #capacity: number;
  readonly #now: () => number;
  readonly #samples: Sample[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor({ read, intervalMs = 10_000, keepMs = 3_600_000, now = Date.now }: TrafficHistoryOptions = {}) {
    if (!(intervalMs > 0) || !(keepMs >= intervalMs)) throw new TypeError('keepMs must be >= intervalMs > 0');
    this.#read = read;
    this.#intervalMs = intervalMs;
    this.#capacity = Math.ceil(keepMs / intervalMs) + 1;
    this.#now = now;
  }

  /** Takes a first sample now and then one every interval. */
  start(): void {
    if (this.#timer || !this.#read) return;
    void this.sample();
    this.#timer = setInterval(() => void this.sample(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Reads the counters once and records them; a failed read is skipped (the next one follows). */
  async sample(): Promise<void> {
    if (!this.#read) return;
    try {
      this.record(this.#now(), await this.#read());
    } catch {
      // A collection failure is already visible on /_mailgate/metrics; the chart just shows a gap.
    }
  }

  /** Adds a sample, dropping the oldest beyond the window. */
  record(at: number, totals: TrafficTotals): void {
    this.#samples.push({ at, totals });
    if (this.#samples.length > this.#capacity) this.#samples.shift();
  }

  /**
   * The rates between recorded samples; with `current` (totals read just now), a last interval up to
   * this moment, so a chart polled every few seconds moves without waiting for the next sample.
   */
  series(current?: TrafficTotals): TrafficSeries {
    const samples = current ? [...this.#samples, { at: this.#now(), totals: current }] : this.#samples;
    return seriesOf(samples);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** Per-interval rates of consecutive samples; a counter that went down (a reset) counts from zero. */
export function seriesOf(samples: readonly Sample[]): TrafficSeries {
  const series: TrafficSeries = {
    at: [],
    requestsPerSecond: { public: [], token: [], admin: [] },
    denied: [],
  };
  for (let i = 1; i < samples.length; i++) {
    const before = samples[i - 1]!;
    const after = samples[i]!;
    const seconds = (after.at - before.at) / 1000;
    if (!(seconds > 0)) continue;
    series.at.push(after.at);
    for (const plane of CHARTED_PLANES) {
      const delta = increase(before.totals.requests[plane], after.totals.requests[plane]);
      series.requestsPerSecond[plane].push(delta / seconds);
    }
    series.denied.push(increase(before.totals.denied, after.totals.denied));
  }
  return series;
}

function increase(before: number, after: number): number {
  return after >= before ? after - before : after;
}

/** The current totals of mailgate_http_requests_total (by plane) and mailgate_auth_denied_total. */
export async function trafficTotals(metrics: GatewayMetrics): Promise<TrafficTotals> {
  const totals: TrafficTotals = { requests: { public: 0, token: 0, admin: 0 }, denied: 0 };
  for (const { labels, value } of (await metrics.requests.get()).values) {
    const plane = labels.plane as string;
    if (plane === 'public' || plane === 'token' || plane === 'admin') totals.requests[plane] += value;
  }
  for (const { value } of (await metrics.authDenied.get()).values) totals.denied += value;
  return totals;
}
