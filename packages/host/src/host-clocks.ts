import type { Clock, ClockSample } from '@syncap/core';

/** CLOCK_MONOTONIC in ns (process.hrtime is CLOCK_MONOTONIC on Linux): the V4L2 timestamp clock. */
export const monotonicClock: Clock = { nowNs: () => process.hrtime.bigint() };

/**
 * The realtime clock in ns: the monotonic clock plus the realtime offset, re-read every
 * second so PTP/NTP steering shows up without the jumps of mixing two clocks per reading.
 * Date.now() has ms resolution; where the native addon is built, its bracketed sampler
 * (@syncap/native-v4l2 sampleClocks) measures the offset to a few µs.
 */
export const realtimeClock: Clock = (() => {
  let base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  let readAt = Date.now();
  return {
    nowNs: () => {
      if (Date.now() - readAt > 1000) {
        base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
        readAt = Date.now();
      }
      return process.hrtime.bigint() + base;
    },
  };
})();

/**
 * A REALTIME − MONOTONIC sample from JavaScript alone (Date.now has ms resolution, so the
 * uncertainty is ±0.5 ms). The fallback where the native bracketed sampler is unavailable.
 */
export function jsRealtimeSample(): ClockSample {
  const before = process.hrtime.bigint();
  const wallNs = BigInt(Date.now()) * 1_000_000n;
  const after = process.hrtime.bigint();
  const monotonicNs = before + (after - before) / 2n;
  return { monotonicNs, offsetNs: wallNs + 500_000n - monotonicNs, uncertaintyNs: 500_000 + Number(after - before) / 2 };
}
