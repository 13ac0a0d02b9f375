/**
 * How a simulated host's clock reads true (virtual) time. A SimCamera stamps its
 * frames in its host's clock; ground truth stays in true time.
 */
export interface HostClock {
  /** The host clock's reading at true time `trueNs`. */
  hostFromTrue(trueNs: bigint): bigint;
  /** The true time at which the host clock reads `hostNs`. */
  trueFromHost(hostNs: bigint): bigint;
}

/** A host clock that reads true time exactly (single-host simulations). */
export const perfectClock: HostClock = {
  hostFromTrue: (t) => t,
  trueFromHost: (h) => h,
};

/**
 * A clock described by its error (reading − true time) as a function of true time.
 * Implements both directions of HostClock from that one function.
 */
export abstract class ErrorModelClock implements HostClock {
  /** Reading − true time at `trueNs`, ns. */
  abstract errorAt(trueNs: bigint): number;

  hostFromTrue(trueNs: bigint): bigint {
    return trueNs + BigInt(Math.round(this.errorAt(trueNs)));
  }

  trueFromHost(hostNs: bigint): bigint {
    // Fixed-point iteration: the error changes by ppm over the error itself, so two steps are exact.
    let t = hostNs - BigInt(Math.round(this.errorAt(hostNs)));
    t = hostNs - BigInt(Math.round(this.errorAt(t)));
    return t;
  }
}

/** Index of the last item whose `startOf` is ≤ t in a list sorted by it (0 if none). */
export function lastAtOrBefore<T>(items: readonly T[], t: bigint, startOf: (item: T) => bigint): number {
  let lo = 0;
  let hi = items.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (startOf(items[mid]!) <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
