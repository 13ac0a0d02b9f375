import { ClockMapper, type Frame, type FrameGroup, type PolicyConfig } from '@syncap/core';
import { type Connector, SyncClient, SyncNode } from '@syncap/net';
import { type HostClock, PtpServoSim, type SeededRandom, SimCamera, SimClock, type SimScheduler } from '@syncap/sim';

export interface SimHostOptions {
  readonly scheduler: SimScheduler;
  readonly random: SeededRandom;
  readonly index: number;
  readonly cameras: number;
  readonly fps: number;
  /** Oscillator errors within ± this, ppm. */
  readonly ppm: number;
  readonly ptpNoiseNs: number;
  readonly timestamping?: 'software' | 'hardware';
  readonly jitterNs?: number;
  readonly dropRate?: number;
  readonly startLatencyNs?: number;
  readonly startLatencyJitterNs?: number;
  readonly phaseLock?: boolean;
  readonly phaseToleranceNs?: number;
  /** How the node reaches the server. */
  readonly connect: Connector;
  readonly token: string;
  /** Default host<index>. */
  readonly nodeId?: string;
  /** The application's consumer of local groups (default: released). */
  readonly onGroup?: (group: FrameGroup) => void;
  /** Sees every mapped frame (the simulation keys ground truth by it). */
  readonly onMapped?: (raw: Frame, mapped: Frame) => void;
}

/** One simulated host of a rig: its clocks, cameras, SyncNode and SyncClient. */
export interface SimHost {
  readonly nodeId: string;
  readonly node: SyncNode;
  readonly client: SyncClient;
  readonly cameras: readonly SimCamera[];
  /** The PTP-disciplined rig clock (its residual is the floor of what can be aligned). */
  readonly rig: PtpServoSim;
  readonly monotonic: HostClock;
}

/** Bracketed clock samples: how often, and how many the mapping fits (PTP steers the rig clock, so few and recent). */
const SAMPLE_EVERY_MS = 50;
const MAPPER_WINDOW = 3;

/**
 * Builds a simulated host: a drifting oscillator (CLOCK_MONOTONIC), a PTP-disciplined
 * rig clock over it, M simulated cameras with their own oscillator errors, and the real
 * SyncNode and SyncClient. Used by `syncap-node sim` (virtual time) and the demo
 * (virtual time paced to the wall clock, real WebSockets).
 */
export function createSimHost(o: SimHostOptions): SimHost {
  const { scheduler } = o;
  const r = o.random.fork(`host${o.index}`);
  const nodeId = o.nodeId ?? `host${o.index}`;
  const originNs = scheduler.nowNs;
  const oscillator = new SimClock(r.fork('osc'), { ppm: r.uniform(-o.ppm, o.ppm), offsetNs: r.uniform(-1e6, 1e6), wanderPpbPerSqrtS: 1, originNs });
  // CLOCK_MONOTONIC runs on the same oscillator, from its own origin (boot).
  const bootOffset = BigInt(5e9 + o.index * 1e9);
  const monotonic: HostClock = {
    hostFromTrue: (t) => oscillator.hostFromTrue(t) + bootOffset,
    trueFromHost: (m) => oscillator.trueFromHost(m - bootOffset),
  };
  const rig = new PtpServoSim(r.fork('ptp'), { oscillator, noiseRmsNs: o.ptpNoiseNs, timestamping: o.timestamping ?? 'hardware', originNs });
  const cameras = Array.from({ length: o.cameras }, (_, c) => {
    const id = `cam${c}`;
    const cr = r.fork(id);
    return new SimCamera(scheduler, cr, {
      id,
      fps: o.fps,
      ppm: cr.uniform(-o.ppm, o.ppm),
      jitterNs: o.jitterNs ?? 0,
      dropRate: o.dropRate ?? 0,
      startLatencyNs: o.startLatencyNs ?? 3_000_000,
      startLatencyJitterNs: o.startLatencyJitterNs ?? 1_000_000,
      clock: monotonic,
    });
  });
  const client = new SyncClient({
    connect: o.connect,
    nodeId,
    token: o.token,
    cameras: cameras.map((c) => ({ id: c.id, fps: o.fps })),
    clock: { nowNs: () => rig.hostFromTrue(scheduler.nowNs) },
    timers: scheduler.timers,
    random: r.fork('client'),
  });
  // Local sets of minimal span: unlocked cameras on one host still pair up.
  const policy: PolicyConfig = { name: 'approximate', queueSize: 30 };
  const node = new SyncNode({
    nodeId,
    cameras: cameras.map((device) => ({ device, fps: o.fps })),
    policy,
    mapper: new RecordingMapper(MAPPER_WINDOW, o.onMapped),
    // The simulation's bracket sampler: both clocks read at one instant, 100 ns bracket.
    sampleClock: () => ({
      monotonicNs: monotonic.hostFromTrue(scheduler.nowNs),
      offsetNs: rig.hostFromTrue(scheduler.nowNs) - monotonic.hostFromTrue(scheduler.nowNs),
      uncertaintyNs: 100,
    }),
    sampleEveryMs: SAMPLE_EVERY_MS,
    monotonic: { nowNs: () => monotonic.hostFromTrue(scheduler.nowNs) },
    timers: scheduler.timers,
    client,
    phaseLock: o.phaseLock === false ? false : { toleranceNs: o.phaseToleranceNs ?? 100_000, trim: {} },
    onGroup: o.onGroup,
  });
  // Report the simulated PTP state as ptp4l's supervisor would: the servo's residual as the offset.
  const reportPtp = () => {
    client.reportPtp({ state: 'slave', offsetNs: Math.round(rig.residualAt(scheduler.nowNs)) });
    scheduler.after(1e9, reportPtp);
  };
  scheduler.after(1e9, reportPtp);
  return { nodeId, node, client, cameras, rig, monotonic };
}

/** A ClockMapper that reports how each frame was mapped. */
class RecordingMapper extends ClockMapper {
  constructor(
    window: number,
    private readonly onMap?: (raw: Frame, mapped: Frame) => void,
  ) {
    super({ window });
  }
  override mapFrame(frame: Frame): Frame {
    const mapped = super.mapFrame(frame);
    this.onMap?.(frame, mapped);
    return mapped;
  }
}
