import { describe, expect, it } from 'vitest';
import { agreesWith, marzullo } from './marzullo.js';
import { linearRegression, median, medianAbsoluteDeviation, minBy, quantile, theilSenSlope } from './robust-stats.js';

describe('robust stats', () => {
  it('median, MAD and quantiles', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(medianAbsoluteDeviation([1, 2, 3, 4, 100])).toBe(1);
    expect(quantile([0, 10], 0.25)).toBe(2.5);
  });
  it('min-RTT filter picks the least delayed sample', () => {
    const s = [
      { rtt: 50, offset: 9 },
      { rtt: 10, offset: 3 },
      { rtt: 30, offset: 7 },
    ];
    expect(minBy(s, (x) => x.rtt)?.offset).toBe(3);
  });
  it('drift by regression, exact on a line even at large x', () => {
    const xs = [0, 1, 2, 3, 4].map((i) => 1.7e18 + i * 1e9);
    const ys = xs.map((x) => 5 + (x - 1.7e18) * 20e-6);
    const fit = linearRegression(xs, ys)!;
    expect(fit.slope * 1e6).toBeCloseTo(20, 6);
    expect(linearRegression([1, 1], [2, 3])).toBeNull();
  });
  it('Theil–Sen ignores an outlier that least squares does not', () => {
    const xs = [0, 1, 2, 3, 4, 5, 6];
    const ys = [0, 1, 2, 3, 4, 5, 60];
    expect(theilSenSlope(xs, ys)).toBe(1);
    expect(linearRegression(xs, ys)!.slope).toBeGreaterThan(5);
  });
});

describe('marzullo', () => {
  it('finds the interval most sources agree on and exposes the outlier', () => {
    const sources = [
      { lo: 8, hi: 12 },
      { lo: 11, hi: 13 },
      { lo: 10, hi: 12 },
      { lo: 40, hi: 45 },
    ];
    const a = marzullo(sources)!;
    expect(a).toEqual({ lo: 11, hi: 12, count: 3 });
    expect(sources.map((s) => agreesWith(s, a))).toEqual([true, true, true, false]);
    expect(marzullo([])).toBeNull();
    expect(() => marzullo([{ lo: 2, hi: 1 }])).toThrow(/lo > hi/);
  });
});
