import type { SeededRandom } from './seeded-random.js';
import type { SimScheduler } from './sim-scheduler.js';

export interface SimLinkOptions {
  /** One-way latency, ns. Default 200 µs. */
  readonly latencyNs?: number;
  /** Extra latency, exponential with this mean, ns. Default 50 µs. */
  readonly jitterNs?: number;
  /**
   * Probability that a message's packet is lost. The channel is TCP (WebSocket): a loss is
   * not a missing message but a retransmission after `retransmitNs` (default 200 ms, the
   * minimum RTO), and every later message waits behind it (order is kept). Default 0.
   */
  readonly lossRate?: number;
  readonly retransmitNs?: number;
}

/**
 * The sync channel on virtual time: latency and jitter per message (order kept per
 * direction, as over TCP), and partitions. Pass `deliverer()` to a connection pair
 * (@syncap/net's memoryConnectionPair); `partition()` makes the link drop everything
 * until `heal()`.
 */
export class SimNetwork {
  private partitioned = false;
  private readonly lastDelivery: [bigint, bigint] = [0n, 0n];
  /** Messages delivered, dropped (during partitions) and retransmitted (lost once). */
  readonly counts = { delivered: 0, dropped: 0, retransmitted: 0 };

  constructor(
    private readonly scheduler: SimScheduler,
    private readonly random: SeededRandom,
    private readonly options: SimLinkOptions = {},
  ) {}

  partition(): void {
    this.partitioned = true;
  }

  heal(): void {
    this.partitioned = false;
  }

  get isPartitioned(): boolean {
    return this.partitioned;
  }

  /** A delivery function for one link: schedules each message after the link's latency. */
  deliverer(): (fn: () => void, from: 0 | 1) => void {
    return (fn, from) => {
      if (this.partitioned) {
        this.counts.dropped++;
        return;
      }
      let delay = (this.options.latencyNs ?? 200_000) + this.random.exponential(this.options.jitterNs ?? 50_000);
      if (this.random.chance(this.options.lossRate ?? 0)) {
        this.counts.retransmitted++;
        delay += this.options.retransmitNs ?? 200_000_000;
      }
      let at = this.scheduler.nowNs + BigInt(Math.round(delay));
      if (at <= this.lastDelivery[from]) at = this.lastDelivery[from] + 1n;
      this.lastDelivery[from] = at;
      this.scheduler.at(at, () => {
        this.counts.delivered++;
        fn();
      });
    };
  }
}
