import { ClockMapper, type Frame, type FrameGroup, type PolicyConfig, type Timers } from '@syncap/core';
import { encodeJpegSync } from '@syncap/jpeg';
import { type Connector, SyncClient, SyncNode } from '@syncap/net';
import { type HostClock, PtpServoSim, type SeededRandom, SimCamera, SimClock, type SimPixelsOptions, type SimScheduler } from '@syncap/sim';
import type { RigPixels, RigSpec } from './rig-spec.js';

/** The hardware of one simulated host: what survives a crash of the node process. */
export interface SimMachineOptions {
  readonly scheduler: SimScheduler;
  readonly random: SeededRandom;
  readonly index: number;
  /** The rig: oscillator errors (ppm), PTP noise and timestamping. */
  readonly spec: RigSpec;
  /** linuxptp step_threshold, ns (0: never step after the first lock). Default 0. */
  readonly ptpStepThresholdNs?: number;
  /** Default host<index>. */
  readonly nodeId?: string;
}

/** One host's oscillator, its CLOCK_MONOTONIC and its PTP-disciplined rig clock. */
export interface SimMachine {
  readonly index: number;
  readonly nodeId: string;
  /** The PTP-disciplined rig clock (its residual is the floor of what can be aligned). */
  readonly rig: PtpServoSim;
  readonly monotonic: HostClock;
  readonly random: SeededRandom;
  readonly ppm: number;
}

/** The node process running on a machine: its cameras, SyncNode and SyncClient. */
export interface SimProcessOptions {
  readonly scheduler: SimScheduler;
  /** The rig: cameras per host, their rate, jitter, drops and start latency, phase lock. */
  readonly spec: RigSpec;
  /** The node's local grouping. Default: approximate (unlocked cameras on one host still pair up). */
  readonly policy?: PolicyConfig;
  /** How the node reaches the server. */
  readonly connect: Connector;
  readonly token: string;
  /** The process's timers (a crash kills them). Default: the scheduler's. */
  readonly timers?: Timers;
  /** Which start of the process this is (0 first): a restarted process draws fresh randomness. */
  readonly incarnation?: number;
  /** The application's consumer of local groups (default: released); a promise holds the next group back. */
  readonly onGroup?: (group: FrameGroup) => void | Promise<void>;
  /** Sees every mapped frame (the simulation keys ground truth by it). */
  readonly onMapped?: (raw: Frame, mapped: Frame) => void;
  /**
   * The node process's session id. Default: drawn from the seed (virtual-time runs replay
   * exactly); a process paced in real time passes a fresh one per run (@syncap/host).
   */
  readonly session?: string;
}

export type SimHostOptions = Omit<SimMachineOptions, 'spec'> & SimProcessOptions;

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
 * Builds a simulated host's hardware: a drifting oscillator (CLOCK_MONOTONIC) and a
 * PTP-disciplined rig clock over it.
 */
export function createSimMachine(o: SimMachineOptions): SimMachine {
  const r = o.random.fork(`host${o.index}`);
  const originNs = o.scheduler.nowNs;
  const { ppm, ptpNoiseNs, timestamping } = o.spec;
  const oscillator = new SimClock(r.fork('osc'), { ppm: r.uniform(-ppm, ppm), offsetNs: r.uniform(-1e6, 1e6), wanderPpbPerSqrtS: 1, originNs });
  // CLOCK_MONOTONIC runs on the same oscillator, from its own origin (boot).
  const bootOffset = BigInt(5e9 + o.index * 1e9);
  const monotonic: HostClock = {
    hostFromTrue: (t) => oscillator.hostFromTrue(t) + bootOffset,
    trueFromHost: (m) => oscillator.trueFromHost(m - bootOffset),
  };
  const rig = new PtpServoSim(r.fork('ptp'), {
    oscillator,
    noiseRmsNs: ptpNoiseNs,
    timestamping,
    stepThresholdNs: o.ptpStepThresholdNs,
    originNs,
  });
  return { index: o.index, nodeId: o.nodeId ?? `host${o.index}`, rig, monotonic, random: r, ppm };
}

/**
 * Starts the node process on a machine: M simulated cameras with their own oscillator
 * errors, and the real SyncNode and SyncClient. Capture starts with `host.node.start()`.
 */
export function startSimProcess(machine: SimMachine, o: SimProcessOptions): SimHost {
  const { scheduler, spec } = o;
  const r = machine.random;
  const timers = o.timers ?? scheduler.timers;
  const incarnation = o.incarnation ?? 0;
  const { rig, monotonic, nodeId } = machine;
  const cameras = Array.from({ length: spec.cameras }, (_, c) => {
    const id = `cam${c}`;
    const cr = r.fork(id);
    // The sensor's oscillator is hardware (same every start); its other randomness is per start.
    const ppm = cr.uniform(-machine.ppm, machine.ppm);
    // Sensor timing is hardware too; its own stream, so that other draws do not move.
    const timing = spec.mixedExposure ? mixedTiming(cr.fork('timing')) : {};
    return new SimCamera(scheduler, incarnation === 0 ? cr : r.fork(`${id}#${incarnation}`), {
      id,
      fps: spec.fps,
      ppm,
      jitterNs: spec.jitterNs,
      dropRate: spec.dropRate,
      startLatencyNs: spec.startLatencyNs,
      startLatencyJitterNs: spec.startLatencyJitterNs,
      clock: monotonic,
      ...timing,
      ...(spec.pixels ? { pixels: simPixels(spec.pixels) } : {}),
    });
  });
  const clientRandom = r.fork(incarnation === 0 ? 'client' : `client#${incarnation}`);
  const session = o.session ?? Math.floor(clientRandom.next() * 2 ** 48).toString(36);
  const client = new SyncClient({
    connect: o.connect,
    nodeId,
    token: o.token,
    cameras: cameras.map((c) => ({ id: c.id, fps: spec.fps })),
    clock: { nowNs: () => rig.hostFromTrue(scheduler.nowNs) },
    timers,
    random: clientRandom,
    session,
  });
  const node = new SyncNode({
    nodeId,
    cameras: cameras.map((device) => ({ device, fps: spec.fps })),
    policy: o.policy ?? { name: 'approximate', queueSize: 30 },
    mapper: new RecordingMapper(MAPPER_WINDOW, o.onMapped),
    // The simulation's bracket sampler: both clocks read at one instant, 100 ns bracket.
    sampleClock: () => ({
      monotonicNs: monotonic.hostFromTrue(scheduler.nowNs),
      offsetNs: rig.hostFromTrue(scheduler.nowNs) - monotonic.hostFromTrue(scheduler.nowNs),
      uncertaintyNs: 100,
    }),
    sampleEveryMs: SAMPLE_EVERY_MS,
    monotonic: { nowNs: () => monotonic.hostFromTrue(scheduler.nowNs) },
    timers,
    client,
    phaseLock: spec.phaseLock ? { toleranceNs: spec.phaseToleranceNs, trim: {} } : false,
    onGroup: o.onGroup,
  });
  // Report the simulated PTP state as ptp4l's supervisor would: the servo's residual as the offset,
  // LISTENING while no PTP messages arrive (holdover). Drops go with it, as join reports a real camera's
  // (the cameras' own count: what the demo's status line shows).
  const reportPtp = () => {
    const holdover = rig.inHoldover(scheduler.nowNs);
    client.reportPtp(holdover ? { state: 'listening' } : { state: 'slave', offsetNs: Math.round(rig.residualAt(scheduler.nowNs)) });
    client.reportDrops(Object.fromEntries(cameras.map((c) => [c.id, c.counts.drop])));
    timers.setTimeout(reportPtp, 1000);
  };
  timers.setTimeout(reportPtp, 1000);
  return { nodeId, node, client, cameras, rig, monotonic };
}

/**
 * Builds a simulated host: machine and process together. Used by `syncap-node sim`
 * (virtual time) and the demo (virtual time paced to the wall clock, real WebSockets).
 */
export function createSimHost(o: SimHostOptions): SimHost {
  return startSimProcess(createSimMachine(o), o);
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

/** A camera's exposure, readout and timestamp source, as different cameras of one rig have them. */
function mixedTiming(r: SeededRandom): { exposureNs: number; readoutNs: number; timestampSource: 'start-of-exposure' | 'end-of-frame' } {
  return {
    exposureNs: Math.round(r.uniform(100_000, 20_000_000)),
    readoutNs: Math.round(r.uniform(0, 30_000_000)),
    timestampSource: r.next() < 0.5 ? 'start-of-exposure' : 'end-of-frame',
  };
}

/** SimCamera pixels for a rig: rendered per frame (the stamp is exact); MJPG through libjpeg-turbo. */
function simPixels(p: RigPixels): SimPixelsOptions {
  const encodeJpeg = (yuyv: Uint8Array, width: number, height: number) => encodeJpegSync(yuyv, { width, height, pixelFormat: 'YUYV', quality: 80 });
  return { ...p, ...(p.pixelFormat === 'MJPG' ? { encodeJpeg } : {}) };
}
