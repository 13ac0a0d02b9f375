import { loadBinding } from './native-addon.js';
import type { NativeClockSample } from './native-binding.js';

/**
 * A bracketed reading of a wall clock against CLOCK_MONOTONIC (DESIGN §2): `monotonicNs` at
 * the middle of the narrowest bracket, REALTIME − MONOTONIC and TAI − MONOTONIC (ns; TAI equals
 * realtime until the kernel's TAI offset is set, e.g. by ptp4l/phc2sys), and each bracket's half-width.
 */
export type ClockBracket = NativeClockSample;

/** Samples REALTIME/TAI against MONOTONIC `rounds` times and keeps the narrowest bracket. */
export function sampleClocks(rounds = 32): ClockBracket {
  return loadBinding().sampleClocks(rounds);
}

/** CLOCK_MONOTONIC now, ns (the V4L2 timestamp clock). */
export function monotonicNowNs(): bigint {
  return loadBinding().monotonicNow();
}
