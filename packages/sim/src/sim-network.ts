import { StateError } from '@syncap/core';
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
  /** Messages a partition holds per direction before the simulation gives up (a misconfigured run). Default 100 000. */
  readonly maxHeldMessages?: number;
}

/**
 * The sync channel on virtual time: latency and jitter per message (order kept per
 * direction, as over TCP), packet loss as retransmission delay, and partitions. Pass
 * `deliverer()` to a connection pair (@syncap/net's memoryConnectionPair).
 *
 * A partition behaves as TCP does: nothing is lost, everything sent is held and
 * delivered in order when the link heals, unless the connection was closed in the
 * meantime (the pair drops messages for a closed side). Endpoints notice a partition
 * only through their own heartbeats and timeouts.
 */
export class SimNetwork {
  private partitioned = false;
  private readonly lastDelivery: [bigint, bigint] = [0n, 0n];
  private readonly held: Array<{ fn: () => void; from: 0 | 1 }> = [];
  private lossRate: number;
  /** Messages delivered, held by partitions, and retransmitted (lost once). */
  readonly counts = { delivered: 0, held: 0, retransmitted: 0 };

  constructor(
    private readonly scheduler: SimScheduler,
    private readonly random: SeededRandom,
    private readonly options: SimLinkOptions = {},
  ) {
    this.lossRate = options.lossRate ?? 0;
  }

  partition(): void {
    this.partitioned = true;
  }

  /** Ends the partition: what it held goes out in order, after the link's latency. */
  heal(): void {
    if (!this.partitioned) return;
    this.partitioned = false;
    for (const { fn, from } of this.held.splice(0)) this.schedule(fn, from);
  }

  get isPartitioned(): boolean {
    return this.partitioned;
  }

  /** Messages held by the current partition. */
  get heldMessages(): number {
    return this.held.length;
  }

  /** Changes the packet loss probability (a lossy period). */
  setLossRate(rate: number): void {
    this.lossRate = rate;
  }

  /** A delivery function for one link: schedules each message after the link's latency. */
  deliverer(): (fn: () => void, from: 0 | 1) => void {
    return (fn, from) => {
      if (this.partitioned) {
        if (this.held.length >= (this.options.maxHeldMessages ?? 100_000)) {
          throw new StateError(`SimNetwork: a partition holds more than ${this.held.length} messages; does an endpoint send without a heartbeat timeout?`);
        }
        this.counts.held++;
        this.held.push({ fn, from });
        return;
      }
      this.schedule(fn, from);
    };
  }

  private schedule(fn: () => void, from: 0 | 1): void {
    let delay = (this.options.latencyNs ?? 200_000) + this.random.exponential(this.options.jitterNs ?? 50_000);
    if (this.random.chance(this.lossRate)) {
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
  }
}
