import { type FrameGroup, NS_PER_S, type PolicyConfig } from '@syncap/core';
import { randomSessionId } from '@syncap/host';
import { wsConnector } from '@syncap/net';
import { SeededRandom, SimScheduler } from '@syncap/sim';
import { RealtimePacer } from './realtime-pacer.js';
import type { RigSpec } from './rig-spec.js';
import { createSimHost, type SimHost, type SimProcessOptions } from './sim-host.js';

export interface RealtimeSimNodesOptions {
  readonly url: string;
  readonly token: string;
  /** The rig: `spec.hosts` hosts of `spec.cameras` cameras. */
  readonly spec: RigSpec;
  /** Index of the first host (its node id is host<index>). */
  readonly firstIndex?: number;
  /** Node id override (one host only). */
  readonly nodeId?: string;
  /** Consumer of each host's local groups (recording); default: released. */
  readonly onGroup?: (group: FrameGroup) => void;
  /** Send the server thumbnails of the cameras' images (with `spec.pixels`), see SimProcessOptions. Default: none. */
  readonly thumbnails?: SimProcessOptions['thumbnails'];
  /** Each host's local grouping policy; default the sim host's (approximate). */
  readonly policy?: PolicyConfig;
}

/**
 * Simulated hosts paced to the wall clock, talking to a real server over real
 * WebSockets: the demo's nodes and `join --simulate`. Capture starts once the
 * simulated PTP has settled (3 s), as a real node waits for its clock. Each node
 * process gets a fresh session id, so a restarted run is never taken for the last one.
 */
export class RealtimeSimNodes {
  /** Virtual time starts at the real-time instant: the simulated rig clocks read like this machine's. */
  readonly scheduler = new SimScheduler(BigInt(Date.now()) * 1_000_000n);
  readonly hosts: SimHost[] = [];
  private readonly pacer = new RealtimePacer(this.scheduler);

  constructor(o: RealtimeSimNodesOptions) {
    const random = new SeededRandom(o.spec.seed);
    for (let h = 0; h < o.spec.hosts; h++) {
      this.hosts.push(
        createSimHost({
          scheduler: this.scheduler,
          random,
          index: (o.firstIndex ?? 0) + h,
          spec: o.spec,
          token: o.token,
          connect: wsConnector(o.url),
          nodeId: o.nodeId,
          onGroup: o.onGroup,
          thumbnails: o.thumbnails,
          ...(o.policy ? { policy: o.policy } : {}),
          session: randomSessionId(),
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
