import { describe, expect, it } from 'vitest';
import {
  bucketStart,
  LATENCY_SLOTS,
  latencyQuantile,
  mergeBuckets,
  type TrafficBucket,
  type TrafficCounts,
  trafficBucketOf,
  trafficReport,
  zeroCounts,
} from '../../../gateway/traffic-buckets.js';

const I = 10_000;
/** 10:00:00 UTC, a bucket boundary. */
const T = Date.UTC(2026, 0, 1, 10, 0, 0);

/** Counts of `publicCount` public requests in latency slot `slot` (0: up to 1 ms), `token` token ones, denials. */
function counts(publicCount: number, { token = 0, denied = 0, slot = 0 } = {}): TrafficCounts {
  const result = zeroCounts();
  result.latency.public[slot] = publicCount;
  result.latency.token[slot] = token;
  result.denied = denied;
  return result;
}
const bucket = (
  start: number,
  publicCount: number,
  more: Parameters<typeof counts>[1] = {},
): TrafficBucket => ({
  start,
  counts: counts(publicCount, more),
});
/** Public requests per bucket start of merged buckets. */
const publicByStart = (buckets: readonly TrafficBucket[]) =>
  buckets.map(({ start, counts: c }) => [start, c.latency.public.reduce((a, b) => a + b, 0)]);

describe('bucketStart', () => {
  it.each([
    ['a boundary is its own bucket', T, T],
    ['one ms before it is the previous bucket', T - 1, T - I],
    ['the last ms of a bucket', T + I - 1, T],
    ['the next boundary', T + I, T + I],
    ['before 1970 still floors', -1, -I],
  ])('%s', (_, at, start) => {
    expect(bucketStart(at, I)).toBe(start);
  });
});

describe('mergeBuckets', () => {
  it.each<[string, TrafficBucket[][], number, Array<[number, number]>]>([
    [
      'one worker alone is its own view',
      [[bucket(T, 3), bucket(T + I, 4)]],
      T + I + 1,
      [
        [T, 3],
        [T + I, 4],
      ],
    ],
    [
      'two workers sum per bucket',
      [
        [bucket(T, 3), bucket(T + I, 4)],
        [bucket(T, 10), bucket(T + I, 20)],
      ],
      T + I + 1,
      [
        [T, 13],
        [T + I, 24],
      ],
    ],
    [
      'a worker that just started adds to the newest bucket only',
      [[bucket(T - I, 5), bucket(T, 5)], [bucket(T, 2)]],
      T + 1,
      [
        [T - I, 5],
        [T, 7],
      ],
    ],
    [
      'buckets out of order come out oldest first',
      [
        [bucket(T + I, 1), bucket(T - I, 2)],
        [bucket(T, 3), bucket(T - I, 4)],
      ],
      T + I,
      [
        [T - I, 6],
        [T, 3],
        [T + I, 1],
      ],
    ],
    [
      'a bucket starting at the window edge stays, the one before goes',
      [[bucket(T - 360 * I, 1), bucket(T - 361 * I, 9), bucket(T, 2)]],
      T,
      [
        [T - 360 * I, 1],
        [T, 2],
      ],
    ],
    [
      'a bucket starting after now (a clock stepped back) is left out',
      [[bucket(T, 1), bucket(T + I, 5)]],
      T + I - 1,
      [[T, 1]],
    ],
    ['no workers, no buckets', [[], []], T, []],
  ])('%s', (_, lists, now, expected) => {
    expect(publicByStart(mergeBuckets(lists, now, { intervalMs: I, keepMs: 3_600_000 }))).toEqual(expected);
  });

  it('sums every latency slot and denials, and leaves the inputs as they were', () => {
    const a = [bucket(T, 1, { slot: 3, token: 2, denied: 1 })];
    const b = [bucket(T, 4, { slot: 3, token: 1, denied: 5 })];
    const [merged] = mergeBuckets([a, b], T + 1, { intervalMs: I });
    expect(merged!.counts.latency.public[3]).toBe(5);
    expect(merged!.counts.latency.token[3]).toBe(3);
    expect(merged!.counts.denied).toBe(6);
    expect(a[0]!.counts.latency.public[3]).toBe(1);
  });
});

describe('trafficBucketOf', () => {
  const good = bucket(T, 2, { denied: 1 });
  const withCounts = (change: (c: Record<string, unknown>) => void) => {
    const copy = structuredClone(good) as unknown as { start: number; counts: Record<string, unknown> };
    change(copy.counts);
    return copy;
  };
  it('takes a bucket of the right shape, copied', () => {
    const checked = trafficBucketOf(good, I);
    expect(checked).toEqual(good);
    expect(checked!.counts.latency.public).not.toBe(good.counts.latency.public);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'bucket'],
    ['a start off the boundary', { ...good, start: T + 1 }],
    ['a start that is not a number', { ...good, start: String(T) }],
    ['no counts', { start: T }],
    ['a negative denial count', withCounts((c) => (c.denied = -1))],
    ['a fractional count', withCounts((c) => (c.denied = 0.5))],
    ['an infinite count', withCounts((c) => (c.denied = Number.POSITIVE_INFINITY))],
    ['a plane missing', withCounts((c) => delete (c.latency as Record<string, unknown>).token)],
    ['a histogram one slot short', withCounts((c) => ((c.latency as Record<string, number[]>).admin = [0]))],
    [
      'a histogram slot that is a string',
      withCounts((c) => ((c.latency as Record<string, unknown[]>).public![0] = '1')),
    ],
    ['a count beyond 2^48', withCounts((c) => (c.denied = 2 ** 53))],
  ])('refuses %s', (_, value) => {
    expect(trafficBucketOf(value, I)).toBeUndefined();
  });
});

describe('latencyQuantile', () => {
  const slots = (...filled: Array<[number, number]>) => {
    const result = new Array<number>(LATENCY_SLOTS).fill(0);
    for (const [slot, count] of filled) result[slot] = count;
    return result;
  };
  it.each<[string, number[], number, number | null]>([
    ['no requests: no figure', slots(), 0.5, null],
    ['interpolates inside the first slot (0..1 ms)', slots([0, 10]), 0.5, 0.0005],
    ['interpolates inside a later slot (5..10 ms)', slots([0, 50], [3, 50]), 0.75, 0.0075],
    ['the +Inf slot gives the largest finite bound', slots([LATENCY_SLOTS - 1, 4]), 0.99, 60],
  ])('%s', (_, histogram, q, expected) => {
    const value = latencyQuantile(histogram, q);
    if (expected === null) expect(value).toBeNull();
    else expect(value).toBeCloseTo(expected, 9);
  });

  it('merging histograms gives the percentile of all requests, not a mean of percentiles', () => {
    // Worker A: 95 fast requests (<= 1 ms); worker B: 5 slow ones (1..2.5 s). Together the p95 is fast.
    const fast = bucket(T, 95, { slot: 0 });
    const slow = bucket(T, 5, { slot: 10 });
    const [merged] = mergeBuckets([[fast], [slow]], T + 1, { intervalMs: I });
    expect(latencyQuantile(merged!.counts.latency.public, 0.95)).toBeCloseTo(0.001, 9);
    expect(latencyQuantile(merged!.counts.latency.public, 0.99)).toBeGreaterThan(1);
  });
});

describe('trafficReport', () => {
  it('reports each bucket with its span, the filling one up to now, and the window totals', () => {
    const report = trafficReport(
      {
        now: T + I + 2_500,
        buckets: [bucket(T, 20, { denied: 2 }), bucket(T + I, 5, { token: 5 })],
        scope: { kind: 'workers', workers: 2, missing: [1] },
        processes: [],
      },
      { intervalMs: I },
    );
    expect(report.scope).toEqual({ kind: 'workers', workers: 2, missing: [1] });
    expect(report.intervals.map(({ end, seconds }) => [end, seconds])).toEqual([
      [T + I, 10],
      [T + I + 2_500, 2.5],
    ]);
    expect(report.intervals[1]!.requests).toEqual({ public: 5, token: 5, admin: 0 });
    expect(report.totals.requests).toEqual({ public: 25, token: 5, admin: 0 });
    expect(report.totals.denied).toBe(2);
    expect(report.totals.latency.admin).toEqual({ p50: null, p95: null, p99: null });
  });

  it('gives a bucket read just after its start at least one second, so its rate stays finite', () => {
    const report = trafficReport(
      { now: T + 3, buckets: [bucket(T, 1)], scope: { kind: 'process' }, processes: [] },
      { intervalMs: I },
    );
    expect(report.intervals[0]).toMatchObject({ end: T + 1_000, seconds: 1 });
  });
});
