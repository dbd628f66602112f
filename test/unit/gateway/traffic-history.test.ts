import { describe, expect, it } from 'vitest';
import { type TrafficBucket, type TrafficCounts, zeroCounts } from '../../../gateway/traffic-buckets.js';
import { TrafficHistory, TrafficStore, trafficTotals } from '../../../gateway/traffic-history.js';
import { metricsAfter } from '../../helpers/metrics.js';

const I = 10_000;
const T = Date.UTC(2026, 0, 1, 10, 0, 0);

/** Cumulative counters: `publicCount` public requests (latency slot 0), `denied` denials. */
function totals(publicCount: number, denied = 0): TrafficCounts {
  const counts = zeroCounts();
  counts.latency.public[0] = publicCount;
  counts.denied = denied;
  return counts;
}
const publicOf = (bucket: TrafficBucket) => bucket.counts.latency.public[0];
const summary = (buckets: readonly TrafficBucket[]) =>
  buckets.map((b) => [b.start, publicOf(b), b.counts.denied]);

/** A history on a clock the test moves, with the counters the test sets. */
function clocked(startAt: number) {
  const clock = { now: startAt, totals: totals(0) };
  const history = new TrafficHistory({
    intervalMs: I,
    keepMs: 3 * I,
    now: () => clock.now,
    read: async () => clock.totals,
  });
  return { clock, history };
}

describe('TrafficHistory', () => {
  it('puts what the counters grew by into the bucket that was filling, from the process start on', async () => {
    const { clock, history } = clocked(T + 4_000);
    clock.totals = totals(7, 1);
    clock.now = T + I + 5;
    await history.sample();
    clock.totals = totals(9, 1);
    clock.now = T + 2 * I + 5;
    await history.sample();
    clock.totals = totals(12, 4);
    clock.now = T + 2 * I + 3_000;
    const view = await history.view();
    expect(view.scope).toEqual({ kind: 'process' });
    expect(summary(view.buckets)).toEqual([
      [T, 7, 1],
      [T + I, 2, 0],
      [T + 2 * I, 3, 3],
    ]);
  });

  it('hands every closed bucket to its listeners, never the filling one', async () => {
    const { clock, history } = clocked(T);
    const sent: TrafficBucket[] = [];
    history.onBucket((bucket) => sent.push(bucket));
    clock.totals = totals(5);
    expect(publicOf(await history.current())).toBe(5);
    expect(sent).toEqual([]);
    clock.now = T + I + 5;
    await history.sample();
    expect(summary(sent)).toEqual([[T, 5, 0]]);
    expect(publicOf(await history.current())).toBe(0);
  });

  it('a read after a boundary the timer has not reached yet closes the bucket first (listeners have it before)', async () => {
    const { clock, history } = clocked(T);
    const sent: TrafficBucket[] = [];
    history.onBucket((bucket) => sent.push(bucket));
    clock.totals = totals(6);
    clock.now = T + I + 40;
    const filling = await history.current();
    expect(summary(sent)).toEqual([[T, 6, 0]]);
    expect([filling.start, publicOf(filling)]).toEqual([T + I, 0]);
    // The timer comes after: the bucket it closes is the new one, from the read on.
    clock.totals = totals(8);
    clock.now = T + I + 90;
    await history.sample();
    expect(summary(sent)).toEqual([
      [T, 6, 0],
      [T + I, 2, 0],
    ]);
    expect(summary((await history.view()).buckets)).toEqual([
      [T, 6, 0],
      [T + I, 2, 0],
    ]);
  });

  it('a timer that fired late still closes the bucket that was filling; the next one starts at the clock', async () => {
    const { clock, history } = clocked(T);
    clock.totals = totals(4);
    clock.now = T + 2 * I + 300;
    await history.sample();
    clock.totals = totals(6);
    clock.now = T + 3 * I + 5;
    await history.sample();
    expect(summary((await history.view()).buckets)).toEqual([
      [T, 4, 0],
      [T + 2 * I, 2, 0],
      [T + 3 * I, 0, 0],
    ]);
  });

  it('counts from zero after a counter reset and skips a failed read (its counts go to the next bucket)', async () => {
    let fail = false;
    let now = T;
    let current = totals(0);
    const history = new TrafficHistory({
      intervalMs: I,
      now: () => now,
      read: async () => {
        if (fail) throw new Error('collection failed');
        return current;
      },
    });
    current = totals(50);
    now = T + I;
    await history.sample();
    fail = true;
    now = T + 2 * I;
    await history.sample();
    fail = false;
    current = totals(3);
    now = T + 3 * I;
    await history.sample();
    expect(summary((await history.view()).buckets).slice(0, 3)).toEqual([
      [T, 50, 0],
      [T + I, 3, 0],
      [T + 3 * I, 0, 0],
    ]);
  });

  it('keeps only the window', async () => {
    const { clock, history } = clocked(T);
    for (let i = 1; i <= 10; i++) {
      clock.now = T + i * I;
      await history.sample();
    }
    expect((await history.view()).buckets.map((b) => b.start)).toEqual([
      T + 7 * I,
      T + 8 * I,
      T + 9 * I,
      T + 10 * I,
    ]);
  });

  it('start arms one timer for the next boundary; close stops it', () => {
    const { history } = clocked(T + 1);
    history.start();
    history.start();
    history.close();
    history.close();
  });
});

describe('TrafficStore', () => {
  const bucket = (start: number, publicCount: number): TrafficBucket => ({
    start,
    counts: totals(publicCount),
  });

  it('sums what several workers sent per bucket and keeps a dead worker’s past', () => {
    const store = new TrafficStore({ intervalMs: I, keepMs: 6 * I });
    expect(store.add(bucket(T, 3), T + I)).toBe(true);
    expect(store.add(bucket(T, 4), T + I)).toBe(true);
    // The second worker dies here: what it sent stays; the first goes on.
    expect(store.add(bucket(T + I, 1), T + 2 * I)).toBe(true);
    const view = store.view(T + 2 * I + 1, [bucket(T + 2 * I, 2)], {
      kind: 'workers',
      workers: 2,
      missing: [1],
    });
    expect(summary(view.buckets)).toEqual([
      [T, 7, 0],
      [T + I, 1, 0],
      [T + 2 * I, 2, 0],
    ]);
  });

  it('keeps no bucket outside the window, whatever starts a sender makes up', () => {
    const store = new TrafficStore({ intervalMs: I, keepMs: 2 * I });
    const now = T + 5 * I;
    expect(store.add(bucket(T + 6 * I, 1), now)).toBe(false);
    expect(store.add(bucket(T + 100_000 * I, 1), now)).toBe(false);
    expect(store.add(bucket(T, 1), now)).toBe(false);
    expect(store.add(bucket(T + 3 * I, 1), now)).toBe(true);
    expect(store.view(now, [], { kind: 'process' }).buckets.map((b) => b.start)).toEqual([T + 3 * I]);
  });

  it('refuses a window shorter than the interval', () => {
    expect(() => new TrafficStore({ intervalMs: I, keepMs: 1_000 })).toThrow(TypeError);
  });
});

describe('trafficTotals', () => {
  it('reads the duration histogram by charted plane and sums every denial', async () => {
    const metrics = metricsAfter(
      [
        ['/', 'GET', 200, 'public'],
        ['/', 'POST', 502, 'public'],
        ['/send', 'POST', 202, 'token'],
        ['/_mailgate/healthz', 'GET', 200, 'reserved'],
      ],
      0.003,
    );
    metrics.authDenied.inc({ plane: 'admin', reason: 'no_certificate' }, 2);
    metrics.authDenied.inc({ plane: 'token', reason: 'token_missing' });
    const read = await trafficTotals(metrics);
    // 3 ms falls in the 2.5..5 ms slot (index 2).
    expect(read.latency.public[2]).toBe(2);
    expect(read.latency.token[2]).toBe(1);
    expect(read.latency.admin.every((count) => count === 0)).toBe(true);
    expect(read.denied).toBe(3);
    metrics.observeRequest('/', 'GET', 200, 'public', 0.003);
    expect(read.latency.public[2]).toBe(2);
    expect((await trafficTotals(metrics)).latency.public[2]).toBe(3);
  });
});
