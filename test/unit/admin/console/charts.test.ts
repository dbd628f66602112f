import { describe, expect, it } from 'vitest';
import { formatRate, linePoints, niceMaximum } from '../../../../admin/console/charts.js';

describe('niceMaximum', () => {
  it.each([
    [[], 1],
    [[0, 0.4], 1],
    [[1.2], 2],
    [[3], 5],
    [[7.5], 10],
    [[11], 20],
    [[4_900], 5_000],
    [[Number.NaN, Number.POSITIVE_INFINITY, 3], 5],
  ])('%j -> %d', (values, maximum) => {
    expect(niceMaximum(values)).toBe(maximum);
  });
});

describe('linePoints', () => {
  const axis = { at: [0, 1_800_000, 3_600_000], now: 3_600_000, windowMs: 3_600_000 };

  it('places points by time across the window, scaled to the maximum', () => {
    expect(linePoints(axis, [0, 5, 10], 10)).toBe('0,120 300,60 600,0');
  });

  it('clamps points before the window and negative values', () => {
    expect(linePoints({ ...axis, at: [-600_000, 3_600_000] }, [-1, 20], 10)).toBe('0,120 600,-120');
  });
});

describe('formatRate', () => {
  it.each([
    [0, '0'],
    [0.256, '0.26'],
    [3.4, '3.4'],
    [12.6, '13'],
    [1_234, '1.2k'],
  ])('%d -> %s', (value, text) => {
    expect(formatRate(value)).toBe(text);
  });
});
