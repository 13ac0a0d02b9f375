/** An estimate with its error bounds, e.g. an offset ± uncertainty from one time source. */
export interface Interval {
  readonly lo: number;
  readonly hi: number;
}

export interface Agreement {
  /** The smallest interval consistent with the most sources. */
  readonly lo: number;
  readonly hi: number;
  /** How many sources agree on it. */
  readonly count: number;
}

/**
 * Marzullo's algorithm: the interval contained in the largest number of source
 * intervals. Sources outside it are the ones that disagree (a node whose PTP
 * claim and channel measurement do not overlap, for instance).
 */
export function marzullo(intervals: readonly Interval[]): Agreement | null {
  if (intervals.length === 0) return null;
  const edges: Array<{ at: number; kind: -1 | 1 }> = [];
  for (const { lo, hi } of intervals) {
    if (!(lo <= hi)) throw new RangeError(`interval has lo > hi: [${lo}, ${hi}]`);
    edges.push({ at: lo, kind: -1 }, { at: hi, kind: 1 });
  }
  // Starts sort before ends at the same point, so touching intervals overlap.
  edges.sort((a, b) => a.at - b.at || a.kind - b.kind);
  let best = 0;
  let count = 0;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i]!;
    count -= e.kind;
    if (count > best) {
      best = count;
      lo = e.at;
      hi = edges[i + 1]!.at;
    }
  }
  return { lo, hi, count: best };
}

/** Whether an interval overlaps the agreement (the source agrees with the majority). */
export function agreesWith(interval: Interval, agreement: Agreement): boolean {
  return interval.lo <= agreement.hi && interval.hi >= agreement.lo;
}
