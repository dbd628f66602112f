import { describe, expect, it } from 'vitest';
import { parseDuration, parseRate } from '../../../lib/duration.js';

describe('parseDuration', () => {
  it.each([
    ['1ms', 1],
    ['15s', 15_000],
    ['15m', 900_000],
    ['15min', 900_000],
    ['12h', 43_200_000],
    ['90d', 7_776_000_000],
    ['2w', 1_209_600_000],
    [' 24h ', 86_400_000],
    ['999999999w', 999_999_999 * 604_800_000],
  ])('%s -> %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    '0',
    '0d',
    '90',
    'd',
    '-1d',
    '+1d',
    '1.5h',
    '1e3s',
    '1 d',
    '1D',
    '1y',
    '1dd',
    '1000000000s',
    '90d extra',
    '١٢h',
  ])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('parseRate', () => {
  it.each([
    ['60/min', { count: 60, perMs: 60_000 }],
    ['60/m', { count: 60, perMs: 60_000 }],
    ['5/s', { count: 5, perMs: 1_000 }],
    ['5/sec', { count: 5, perMs: 1_000 }],
    ['100/h', { count: 100, perMs: 3_600_000 }],
    ['100/hour', { count: 100, perMs: 3_600_000 }],
    ['1000/day', { count: 1000, perMs: 86_400_000 }],
    ['1000/d', { count: 1000, perMs: 86_400_000 }],
  ])('%s -> %j', (text, rate) => {
    expect(parseRate(text)).toEqual(rate);
  });

  it.each([
    '',
    '60',
    '0/min',
    '60/',
    '/min',
    '60/fortnight',
    '60 / min',
    '-1/s',
    '1.5/s',
    '60/MIN',
    '1000000000/s',
  ])('%j is not a rate', (text) => {
    expect(parseRate(text)).toBeUndefined();
  });
});
