import { minBy } from '@syncap/core';

/** One NTP-style exchange: client sends at t1, server receives at t2 and replies at t3, client receives at t4 (ns). */
export interface OffsetSample {
  /** Server clock − client clock, ns (positive: the server is ahead). */
  readonly offsetNs: number;
  /** Round-trip time excluding the server's turnaround, ns. */
  readonly rttNs: number;
  /** Client clock at t4. */
  readonly atNs: bigint;
}

export function offsetFromTimestamps(t1: bigint, t2: bigint, t3: bigint, t4: bigint): OffsetSample {
  return {
    offsetNs: (Number(t2 - t1) + Number(t3 - t4)) / 2,
    rttNs: Number(t4 - t1) - Number(t3 - t2),
    atNs: t4,
  };
}

/**
 * Keeps the last `window` exchanges and reports the offset of the one with the
 * smallest round trip (least queueing), as NTP's clock filter does. Its error is
 * bounded by rtt/2.
 */
export class OffsetEstimator {
  private readonly samples: OffsetSample[] = [];
  constructor(private readonly window = 16) {}

  add(sample: OffsetSample): void {
    if (sample.rttNs < 0) return; // clocks stepped during the exchange: useless
    this.samples.push(sample);
    if (this.samples.length > this.window) this.samples.shift();
  }

  /** Best current estimate, or undefined before any sample. */
  estimate(): { offsetNs: number; errorBoundNs: number; samples: number } | undefined {
    const best = minBy(this.samples, (s) => s.rttNs);
    if (!best) return undefined;
    return { offsetNs: best.offsetNs, errorBoundNs: best.rttNs / 2, samples: this.samples.length };
  }
}
