/**
 * @syncap/host — the real host behind core's interfaces: Node's timers, randomness,
 * CLOCK_MONOTONIC and the realtime clock, an error sink, a token file reader. Apps and the harness pass these
 * in; core never reaches for them itself (DESIGN §1).
 */
export { stderrErrorSink } from './error-sinks.js';
export { jsRealtimeSample, monotonicClock, realtimeClock } from './host-clocks.js';
export { hostRandom, randomSessionId } from './host-random.js';
export { hostTimers } from './host-timers.js';
export { loadNativeAddon } from './native-addon.js';
export { readTokenFile, tokenFromSources } from './token-file.js';
