/**
 * @module The console's traffic as counts per time bucket, aligned on the same clock boundaries in every
 * process, so the figures of several workers merge by plain addition: bucket arithmetic, the merge, the check
 * of a bucket that came over IPC, and the report the console and the admin API show. Pure functions.
 */
import type {
  ChartedPlane,
  LatencyFigures,
  ProcessFigures,
  ProcessLoad,
  TrafficInterval,
  TrafficReport,
  TrafficScope,
} from '../admin/api/traffic.js';
import { DURATION_BOUNDS } from './metrics.js';

/** The planes the console charts; reserved paths and unmatched requests count as neither. */
export const CHARTED_PLANES: readonly ChartedPlane[] = ['public', 'token', 'admin'];

/** Bucket length, ms: every process starts its buckets at multiples of it (epoch time). */
export const TRAFFIC_INTERVAL_MS = 10_000;
/** How far back the history reaches, ms. */
export const TRAFFIC_KEEP_MS = 3_600_000;
/** Slots of a latency histogram: one per bound of mailgate_http_request_duration_seconds, then +Inf. */
export const LATENCY_SLOTS = DURATION_BOUNDS.length + 1;

/**
 * Counts over a span. Latency is a histogram (requests per slot, not cumulative) rather than a mean or a
 * percentile: histograms add up across workers, means and percentiles do not. A plane's request count is
 * the sum of its slots.
 */
export interface TrafficCounts {
  latency: Record<ChartedPlane, number[]>;
  /** Requests refused by a plane guard or the path canonicaliser. */
  denied: number;
}

/** The counts of the bucket starting at `start` (epoch ms, a multiple of the interval). */
export interface TrafficBucket {
  start: number;
  counts: TrafficCounts;
}

/** Buckets oldest first (the last one may still be filling), as read at `now`, and who counted them. */
export interface TrafficView {
  now: number;
  buckets: TrafficBucket[];
  scope: TrafficScope;
  processes: ProcessFigures[];
}

export function zeroCounts(): TrafficCounts {
  const slots = () => new Array<number>(LATENCY_SLOTS).fill(0);
  return { latency: { public: slots(), token: slots(), admin: slots() }, denied: 0 };
}

/** Adds `from` into `into`. */
export function addCounts(into: TrafficCounts, from: TrafficCounts): void {
  for (const plane of CHARTED_PLANES) {
    const target = into.latency[plane];
    const source = from.latency[plane];
    for (let slot = 0; slot < LATENCY_SLOTS; slot++) target[slot]! += source[slot]!;
  }
  into.denied += from.denied;
}

/** What cumulative counters grew by from `before` to `after`; a counter that went down restarted from 0. */
export function increaseOf(before: TrafficCounts, after: TrafficCounts): TrafficCounts {
  const delta = zeroCounts();
  for (const plane of CHARTED_PLANES)
    for (let slot = 0; slot < LATENCY_SLOTS; slot++)
      delta.latency[plane][slot] = increase(before.latency[plane][slot]!, after.latency[plane][slot]!);
  delta.denied = increase(before.denied, after.denied);
  return delta;
}

function increase(before: number, after: number): number {
  return after >= before ? after - before : after;
}

/** The start of the bucket holding `at` (both epoch ms): the same boundaries in every process. */
export function bucketStart(at: number, intervalMs = TRAFFIC_INTERVAL_MS): number {
  return at - (((at % intervalMs) + intervalMs) % intervalMs);
}

/**
 * The buckets of every list summed per start, oldest first: in the window (keepMs) ending `now`, none that
 * starts after `now` (a clock stepped back). The lists are left as they were.
 */
export function mergeBuckets(
  lists: readonly (readonly TrafficBucket[])[],
  now: number,
  { intervalMs = TRAFFIC_INTERVAL_MS, keepMs = TRAFFIC_KEEP_MS } = {},
): TrafficBucket[] {
  const oldest = bucketStart(now - keepMs, intervalMs);
  const byStart = new Map<number, TrafficCounts>();
  for (const list of lists)
    for (const { start, counts } of list) {
      if (start < oldest || start > now) continue;
      let sum = byStart.get(start);
      if (!sum) {
        sum = zeroCounts();
        byStart.set(start, sum);
      }
      addCounts(sum, counts);
    }
  return [...byStart].sort(([a], [b]) => a - b).map(([start, counts]) => ({ start, counts }));
}

/** Largest count a bucket may carry per slot: far above any real traffic, below float imprecision. */
const MAX_COUNT = 2 ** 48;
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_COUNT;

/**
 * `value` as a bucket when it has exactly a bucket's shape (an aligned start, every count a whole
 * number), else undefined: what a worker sends is checked before the primary adds it to anything.
 */
export function trafficBucketOf(value: unknown, intervalMs = TRAFFIC_INTERVAL_MS): TrafficBucket | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { start, counts } = value as Partial<TrafficBucket>;
  if (!Number.isSafeInteger(start) || bucketStart(start!, intervalMs) !== start) return undefined;
  if (typeof counts !== 'object' || counts === null || !isCount(counts.denied)) return undefined;
  const latency = counts.latency as Partial<Record<ChartedPlane, unknown>> | undefined;
  if (typeof latency !== 'object' || latency === null) return undefined;
  const checked = zeroCounts();
  checked.denied = counts.denied;
  for (const plane of CHARTED_PLANES) {
    const slots = latency[plane];
    if (!Array.isArray(slots) || slots.length !== LATENCY_SLOTS || !slots.every(isCount)) return undefined;
    checked.latency[plane] = [...slots];
  }
  return { start: start!, counts: checked };
}

const isFigure = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= Number.MAX_SAFE_INTEGER;

/** `value` as a process's load when every figure is a finite number >= 0, else undefined (copied). */
export function processLoadOf(value: unknown): ProcessLoad | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { uptimeSeconds, rssBytes, connections, inFlight } = value as Partial<ProcessLoad>;
  if (![uptimeSeconds, rssBytes, connections, inFlight].every(isFigure)) return undefined;
  return {
    uptimeSeconds: uptimeSeconds!,
    rssBytes: rssBytes!,
    connections: connections!,
    inFlight: inFlight!,
  };
}

/** Requests in a latency histogram. */
export function requestCount(slots: readonly number[]): number {
  let count = 0;
  for (const slotCount of slots) count += slotCount;
  return count;
}

/**
 * The q-quantile (0..1) of a latency histogram, in seconds, interpolated linearly inside its slot as
 * Prometheus' histogram_quantile does; in the +Inf slot, the largest finite bound. Null without requests.
 */
export function latencyQuantile(slots: readonly number[], q: number): number | null {
  const count = requestCount(slots);
  if (count === 0) return null;
  const rank = q * count;
  let below = 0;
  for (let slot = 0; slot < slots.length; slot++) {
    const inSlot = slots[slot]!;
    if (inSlot > 0 && below + inSlot >= rank) {
      const upper = DURATION_BOUNDS[slot];
      if (upper === undefined) return DURATION_BOUNDS.at(-1)!;
      const lower = slot === 0 ? 0 : DURATION_BOUNDS[slot - 1]!;
      return lower + (upper - lower) * ((rank - below) / inSlot);
    }
    below += inSlot;
  }
  return DURATION_BOUNDS.at(-1)!;
}

function latencyFigures(slots: readonly number[]): LatencyFigures {
  return {
    p50: latencyQuantile(slots, 0.5),
    p95: latencyQuantile(slots, 0.95),
    p99: latencyQuantile(slots, 0.99),
  };
}

function planeFigures<T>(
  counts: TrafficCounts,
  figure: (slots: readonly number[]) => T,
): Record<ChartedPlane, T> {
  return {
    public: figure(counts.latency.public),
    token: figure(counts.latency.token),
    admin: figure(counts.latency.admin),
  };
}

/** The report of a view: each bucket's figures and the window's. */
export function trafficReport(
  view: TrafficView,
  { intervalMs = TRAFFIC_INTERVAL_MS, keepMs = TRAFFIC_KEEP_MS } = {},
): TrafficReport {
  const window = zeroCounts();
  const intervals = view.buckets.map(({ start, counts }): TrafficInterval => {
    addCounts(window, counts);
    const end = Math.min(start + intervalMs, Math.max(view.now, start + 1_000));
    return {
      end,
      seconds: (end - start) / 1000,
      requests: planeFigures(counts, requestCount),
      denied: counts.denied,
      latency: planeFigures(counts, latencyFigures),
    };
  });
  return {
    time: new Date(view.now).toISOString(),
    intervalSeconds: intervalMs / 1000,
    windowSeconds: keepMs / 1000,
    scope: view.scope,
    totals: {
      requests: planeFigures(window, requestCount),
      denied: window.denied,
      latency: planeFigures(window, latencyFigures),
    },
    intervals,
    processes: view.processes,
  };
}
