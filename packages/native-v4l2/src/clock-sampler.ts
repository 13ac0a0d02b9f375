import { loadAddon } from './addon.js';

/** A bracketed reading of a wall clock against CLOCK_MONOTONIC (DESIGN §2). */
export interface ClockBracket {
  /** CLOCK_MONOTONIC at the middle of the narrowest bracket. */
  readonly monotonicNs: bigint;
  /** REALTIME − MONOTONIC, ns. */
  readonly realtimeOffsetNs: bigint;
  /** Half-width of the narrowest REALTIME bracket, ns. */
  readonly realtimeUncertaintyNs: number;
  /** TAI − MONOTONIC, ns (equals realtime until the kernel's TAI offset is set, e.g. by ptp4l/phc2sys). */
  readonly taiOffsetNs: bigint;
  readonly taiUncertaintyNs: number;
}

/** Samples REALTIME/TAI against MONOTONIC `rounds` times and keeps the narrowest bracket. */
export function sampleClocks(rounds = 32): ClockBracket {
  return loadAddon().sampleClocks(rounds);
}

/** CLOCK_MONOTONIC now, ns (the V4L2 timestamp clock). */
export function monotonicNowNs(): bigint {
  return loadAddon().monotonicNow();
}
