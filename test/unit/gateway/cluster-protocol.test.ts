import { describe, expect, it } from 'vitest';
import {
  drainExitCode,
  exitReason,
  nextCrashCount,
  parseWorkersFlag,
  RESTART_MAX_MS,
  resolveWorkerCount,
  restartDelayMs,
  STABLE_AFTER_MS,
  workerMessageOf,
} from '../../../gateway/cluster-protocol.js';
import { bucketStart, zeroCounts } from '../../../gateway/traffic-buckets.js';
import { UsageError } from '../../../lib/errors.js';

describe('parseWorkersFlag', () => {
  it.each([
    [undefined, undefined],
    ['auto', 'auto'],
    ['1', 1],
    ['64', 64],
  ])('%s -> %s', (text, setting) => {
    expect(parseWorkersFlag(text)).toBe(setting);
  });

  it.each(['0', '65', '-1', '1.5', 'two', '', ' 2', '0x2', '999', true])(
    'refuses %j naming the flag',
    (text) => {
      expect(() => parseWorkersFlag(text)).toThrow(UsageError);
      expect(() => parseWorkersFlag(text)).toThrow(/^--workers must be auto or a whole number from 1 to 64/);
    },
  );
});

describe('resolveWorkerCount', () => {
  it.each([
    ['auto', 2, 2],
    ['auto', 1, 1],
    ['auto', 0, 1],
    ['auto', 200, 64],
    [3, 2, 3],
    [1, 8, 1],
  ] as const)('%s on %d cores -> %d', (setting, cores, count) => {
    expect(resolveWorkerCount(setting, cores)).toBe(count);
  });
});

describe('restart backoff', () => {
  it('doubles from 250 ms with each crash in a row and stops at 30 s', () => {
    expect([1, 2, 3, 4, 5].map(restartDelayMs)).toEqual([250, 500, 1000, 2000, 4000]);
    expect(restartDelayMs(8)).toBe(RESTART_MAX_MS);
    expect(restartDelayMs(1_000)).toBe(RESTART_MAX_MS);
    expect(restartDelayMs(0)).toBe(250);
  });

  it('starts a new series after a worker served a while', () => {
    expect(nextCrashCount(0, 10)).toBe(1);
    expect(nextCrashCount(4, 10)).toBe(5);
    expect(nextCrashCount(4, STABLE_AFTER_MS)).toBe(1);
  });
});

describe('drainExitCode', () => {
  it('is 0 only when every worker exited 0 by itself', () => {
    expect(drainExitCode([])).toBe(0);
    expect(
      drainExitCode([
        { code: 0, signal: null },
        { code: 0, signal: null },
      ]),
    ).toBe(0);
    expect(
      drainExitCode([
        { code: 0, signal: null },
        { code: 1, signal: null },
      ]),
    ).toBe(1);
    expect(drainExitCode([{ code: null, signal: 'SIGKILL' }])).toBe(1);
  });

  it('labels restarts by how the worker ended', () => {
    expect(exitReason({ code: null, signal: 'SIGKILL' })).toBe('signal');
    expect(exitReason({ code: 1, signal: null })).toBe('error');
    expect(exitReason({ code: 0, signal: null })).toBe('exit');
  });
});

describe('workerMessageOf', () => {
  const bucket = { start: bucketStart(Date.now()), counts: zeroCounts() };
  const load = { uptimeSeconds: 3, rssBytes: 50_000_000, connections: 4, inFlight: 0 };
  it.each<[string, unknown]>([
    ['hello', { t: 'hello' }],
    ['a limit question', { t: 'limit', id: 1, tokenId: 'tok', limits: { burst: 1 } }],
    ['a metrics question', { t: 'metrics', id: 2 }],
    ['a crl report', { t: 'crl', number: 4 }],
    ['collected metrics', { t: 'collected-metrics', id: 3, metrics: [] }],
    ['a closed traffic bucket', { t: 'traffic-bucket', bucket }],
    ['a traffic question', { t: 'traffic', id: 5 }],
    ['a filling traffic bucket', { t: 'collected-traffic', id: 6, bucket, load }],
  ])('takes %s', (_, value) => {
    expect(workerMessageOf(value)).toEqual(value);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['an array', [{ t: 'hello' }]],
    ['no type', { id: 1 }],
    ['an unknown type', { t: 'shutdown' }],
    ['a type from the prototype', { t: 'toString' }],
    ['a limit question without an id', { t: 'limit', tokenId: 'tok', limits: {} }],
    ['a limit question with a token id that is not a string', { t: 'limit', id: 1, tokenId: 7, limits: {} }],
    ['a metrics question with a string id', { t: 'metrics', id: '1' }],
    ['a crl number that is not a number', { t: 'crl', number: 'x' }],
    ['collected metrics that are not a list', { t: 'collected-metrics', id: 3, metrics: {} }],
    [
      'a traffic bucket off the boundary',
      { t: 'traffic-bucket', bucket: { ...bucket, start: bucket.start + 1 } },
    ],
    [
      'a traffic bucket with a negative count',
      { t: 'traffic-bucket', bucket: { ...bucket, counts: { ...bucket.counts, denied: -5 } } },
    ],
    ['a filling bucket without an id', { t: 'collected-traffic', bucket, load }],
    ['a filling bucket without the load', { t: 'collected-traffic', id: 6, bucket }],
    [
      'a load with a negative figure',
      { t: 'collected-traffic', id: 6, bucket, load: { ...load, connections: -1 } },
    ],
    [
      'a load with a figure that is not a number',
      { t: 'collected-traffic', id: 6, bucket, load: { ...load, rssBytes: '1' } },
    ],
    [
      'a load with an infinite uptime',
      { t: 'collected-traffic', id: 6, bucket, load: { ...load, uptimeSeconds: Number.POSITIVE_INFINITY } },
    ],
    ['a ready message without addresses', { t: 'ready' }],
  ])('refuses %s', (_, value) => {
    expect(workerMessageOf(value)).toBeUndefined();
  });
});
