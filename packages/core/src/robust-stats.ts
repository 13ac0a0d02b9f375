/** Robust estimators for offsets and drifts. Inputs are not modified. */

/** Median of the values (mean of the middle two for an even count). NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median absolute deviation (unscaled). */
export function medianAbsoluteDeviation(values: readonly number[]): number {
  const m = median(values);
  return median(values.map((v) => Math.abs(v - m)));
}

/** The q-quantile (0..1) by linear interpolation. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = Math.min(Math.max(q, 0), 1) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Min filter for network offset samples: keeps the sample with the smallest
 * round-trip time, whose offset is least disturbed by queueing (NTP's clock filter).
 */
export function minBy<T>(samples: readonly T[], key: (s: T) => number): T | undefined {
  let best: T | undefined;
  let bestKey = Number.POSITIVE_INFINITY;
  for (const s of samples) {
    const k = key(s);
    if (k < bestKey) {
      bestKey = k;
      best = s;
    }
  }
  return best;
}

export interface LinearFit {
  /** dy/dx. For offset (ns) against time (ns): drift, dimensionless (×1e6 for ppm). */
  readonly slope: number;
  /** y at x = 0. */
  readonly intercept: number;
  readonly count: number;
}

/**
 * Least-squares line through (x, y). Centred on the means for numerical
 * stability with large x (instants in ns). Null for fewer than two distinct x.
 */
export function linearRegression(xs: readonly number[], ys: readonly number[]): LinearFit | null {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    sxx += dx * dx;
    sxy += dx * (ys[i]! - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, count: n };
}

/**
 * Theil–Sen slope (median of pairwise slopes): drift that ignores up to ~29% outliers.
 * O(n²); meant for windows of at most a few hundred samples.
 */
export function theilSenSlope(xs: readonly number[], ys: readonly number[]): number {
  const slopes: number[] = [];
  const n = Math.min(xs.length, ys.length);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = xs[j]! - xs[i]!;
      if (dx !== 0) slopes.push((ys[j]! - ys[i]!) / dx);
    }
  }
  return median(slopes);
}
