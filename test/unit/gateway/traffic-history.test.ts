import { describe, expect, it } from 'vitest';
import { TrafficHistory, type TrafficTotals, trafficTotals } from '../../../gateway/traffic-history.js';
import { metricsAfter } from '../../helpers/metrics.js';

const totals = (publicCount: number, token = 0, admin = 0, denied = 0): TrafficTotals => ({
  requests: { public: publicCount, token, admin },
  denied,
});

describe('TrafficHistory', () => {
  it('turns counter samples into per-second rates and per-interval denials', () => {
    const history = new TrafficHistory({ intervalMs: 10_000 });
    history.record(0, totals(0));
    history.record(10_000, totals(100, 20, 0, 3));
    history.record(20_000, totals(150, 20, 5, 3));
    expect(history.series()).toEqual({
      at: [10_000, 20_000],
      requestsPerSecond: { public: [10, 5], token: [2, 0], admin: [0, 0.5] },
      denied: [3, 0],
    });
  });

  it('keeps only the configured window', () => {
    const history = new TrafficHistory({ intervalMs: 1_000, keepMs: 3_000 });
    for (let i = 0; i <= 10; i++) history.record(i * 1_000, totals(i * 10));
    const series = history.series();
    expect(series.at).toEqual([8_000, 9_000, 10_000]);
    expect(series.requestsPerSecond.public).toEqual([10, 10, 10]);
  });

  it('counts from zero after a counter reset and skips samples without elapsed time', () => {
    const history = new TrafficHistory({ intervalMs: 1_000 });
    history.record(0, totals(50, 0, 0, 9));
    history.record(0, totals(60));
    history.record(1_000, totals(4, 0, 0, 2));
    const series = history.series();
    expect(series.requestsPerSecond.public).toEqual([4]);
    expect(series.denied).toEqual([2]);
  });

  it('adds a live interval up to now when given the current totals', () => {
    let now = 5_000;
    const history = new TrafficHistory({ intervalMs: 10_000, now: () => now });
    history.record(0, totals(0));
    now = 2_000;
    expect(history.series(totals(8)).requestsPerSecond.public).toEqual([4]);
  });

  it('refuses a window shorter than the interval', () => {
    expect(() => new TrafficHistory({ intervalMs: 10_000, keepMs: 1_000 })).toThrow(TypeError);
  });

  it('samples on start and survives a failing read', async () => {
    let calls = 0;
    let now = 0;
    const history = new TrafficHistory({
      intervalMs: 60_000,
      now: () => (now += 1_000),
      read: async () => {
        calls++;
        if (calls === 2) throw new Error('collection failed');
        return totals(calls);
      },
    });
    history.start();
    await history.sample();
    await history.sample();
    history.close();
    expect(calls).toBe(3);
    expect(history.series().at).toHaveLength(1);
  });
});

describe('trafficTotals', () => {
  it('sums the request counter by plane and every denial', async () => {
    const metrics = metricsAfter(
      [
        ['/', 'GET', 200, 'public'],
        ['/', 'POST', 502, 'public'],
        ['/send', 'POST', 202, 'token'],
        ['/_mailgate/healthz', 'GET', 200, 'reserved'],
      ],
      0.001,
    );
    metrics.authDenied.inc({ plane: 'admin', reason: 'no_certificate' }, 2);
    metrics.authDenied.inc({ plane: 'token', reason: 'token_missing' });
    expect(await trafficTotals(metrics)).toEqual(totals(2, 1, 0, 3));
    metrics.observeRequest('/', 'GET', 200, 'public', 0.001);
    expect((await trafficTotals(metrics)).requests.public).toBe(3);
  });
});
