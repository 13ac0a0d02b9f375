import type { ClockSample } from '@syncap/core';
import type { SyncClient } from './sync-client.js';

/**
 * The timebase fallback where PTP is absent (DESIGN §4.4): rig time is the sync
 * server's clock, as measured over the sync channel (NTP-style, min-RTT filtered).
 * Wraps a local sampler (monotonic vs the host's realtime clock) and adds the measured
 * server − host offset; the uncertainty grows by the measurement's error bound.
 * Before the first measurement the local clock is used as it is.
 */
export function channelTimebaseSampler(client: Pick<SyncClient, 'channelOffset'>, local: () => ClockSample): () => ClockSample {
  return () => {
    const sample = local();
    const offset = client.channelOffset();
    if (!offset) return sample;
    return {
      monotonicNs: sample.monotonicNs,
      offsetNs: sample.offsetNs + BigInt(Math.round(offset.offsetNs)),
      uncertaintyNs: sample.uncertaintyNs + offset.errorBoundNs,
    };
  };
}
