import { NS_PER_S } from '@syncap/core';
import { wsConnector } from '@syncap/net';
import { SeededRandom, SimScheduler } from '@syncap/sim';
import { RealtimePacer } from './realtime-pacer.js';
import { createSimHost, type SimHost } from './sim-host.js';

export interface RealtimeSimNodesOptions {
  readonly url: string;
  readonly token: string;
  readonly hosts: number;
  /** Index of the first host (its node id is host<index>). */
  readonly firstIndex?: number;
  readonly cameras: number;
  readonly fps: number;
  readonly seed: number;
  readonly ptpNoiseNs: number;
  readonly ppm: number;
  readonly jitterNs: number;
  readonly dropRate: number;
  readonly phaseLock: boolean;
  /** Node id override (one host only). */
  readonly nodeId?: string;
  /** Consumer of each host's local groups (recording); default: released. */
  readonly onGroup?: (group: import('@syncap/core').FrameGroup) => void;
}

/**
 * Simulated hosts paced to the wall clock, talking to a real server over real
 * WebSockets: the demo's nodes and `join --simulate`. Capture starts once the
 * simulated PTP has settled (3 s), as a real node waits for its clock.
 */
export class RealtimeSimNodes {
  /** Virtual time starts at the real-time instant: the simulated rig clocks read like this machine's. */
  readonly scheduler = new SimScheduler(BigInt(Date.now()) * 1_000_000n);
  readonly hosts: SimHost[] = [];
  private readonly pacer = new RealtimePacer(this.scheduler);

  constructor(o: RealtimeSimNodesOptions) {
    const random = new SeededRandom(o.seed);
    for (let h = 0; h < o.hosts; h++) {
      this.hosts.push(
        createSimHost({
          scheduler: this.scheduler,
          random,
          index: (o.firstIndex ?? 0) + h,
          cameras: o.cameras,
          fps: o.fps,
          ppm: o.ppm,
          ptpNoiseNs: o.ptpNoiseNs,
          jitterNs: o.jitterNs,
          dropRate: o.dropRate,
          phaseLock: o.phaseLock,
          token: o.token,
          connect: wsConnector(o.url),
          nodeId: o.nodeId,
          onGroup: o.onGroup,
        }),
      );
    }
  }

  start(): void {
    this.pacer.start();
    this.scheduler.at(this.scheduler.nowNs + 3n * BigInt(NS_PER_S), () => {
      for (const h of this.hosts) void h.node.start();
    });
  }

  async stop(): Promise<void> {
    for (const h of this.hosts) await h.node.stop().catch(() => undefined);
    this.pacer.stop();
  }
}
