/**
 * Phase of a frame stream against a time grid of period T (DESIGN §3, §4):
 * the grid is k·T in the rig timebase; a frame at t has phase t mod T wrapped
 * into [−T/2, T/2), so a frame slightly before a grid line has a small negative phase.
 */

/** Wraps a duration into [−period/2, period/2). */
export function wrapPhaseNs(ns: number, periodNs: number): number {
  if (!(periodNs > 0)) throw new RangeError(`period must be > 0 ns, got ${periodNs}`);
  const half = periodNs / 2;
  let r = (ns + half) % periodNs;
  if (r < 0) r += periodNs;
  return r - half;
}

/** Phase of an instant against the grid k·periodNs (+ gridOffsetNs), in [−T/2, T/2). */
export function phaseOfNs(tNs: bigint, periodNs: number, gridOffsetNs = 0): number {
  // Reduce with bigint first so large instants keep ns precision; periods may be fractional.
  const p = BigInt(Math.round(periodNs));
  const rem = Number((tNs - BigInt(Math.round(gridOffsetNs))) % p);
  return wrapPhaseNs(rem, periodNs);
}

/** The first grid instant k·period (+ offset) at or after `tNs`. */
export function nextGridInstantNs(tNs: bigint, periodNs: number, gridOffsetNs = 0): bigint {
  const p = BigInt(Math.round(periodNs));
  const off = BigInt(Math.round(gridOffsetNs));
  const rel = tNs - off;
  let k = rel / p;
  if (k * p < rel) k += 1n;
  return k * p + off;
}

/**
 * Circular mean of phases (handles the wrap: phases near +T/2 and −T/2 average to ±T/2, not 0).
 */
export function circularMeanPhaseNs(phasesNs: readonly number[], periodNs: number): number {
  let s = 0;
  let c = 0;
  for (const p of phasesNs) {
    const a = (2 * Math.PI * p) / periodNs;
    s += Math.sin(a);
    c += Math.cos(a);
  }
  if (s === 0 && c === 0) return 0;
  return wrapPhaseNs((Math.atan2(s, c) * periodNs) / (2 * Math.PI), periodNs);
}

/** Median phase after unwrapping around the circular mean (robust to outliers and the wrap). */
export function medianPhaseNs(phasesNs: readonly number[], periodNs: number): number {
  if (phasesNs.length === 0) return Number.NaN;
  const centre = circularMeanPhaseNs(phasesNs, periodNs);
  const around = phasesNs.map((p) => centre + wrapPhaseNs(p - centre, periodNs)).sort((a, b) => a - b);
  const mid = around.length >> 1;
  const m = around.length % 2 === 1 ? around[mid]! : (around[mid - 1]! + around[mid]!) / 2;
  return wrapPhaseNs(m, periodNs);
}
