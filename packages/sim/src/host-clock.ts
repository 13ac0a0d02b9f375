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
