import {
  type CameraDevice,
  type CameraEvent,
  type CameraInfo,
  ConfigError,
  DeviceError,
  type ExposureCorrection,
  type Frame,
  FrameFlags,
  Listeners,
  midExposureCorrection,
  NS_PER_S,
  type StartOptions,
  type StartResult,
  StateError,
  type TimestampSource,
  type Unsubscribe,
} from '@syncap/core';
import { type HostClock, perfectClock } from './host-clock.js';
import type { SeededRandom } from './seeded-random.js';
import { SimPixelSource } from './sim-pixel-source.js';
import type { SimScheduler, TaskHandle } from './sim-scheduler.js';

export interface SimCameraOptions {
  readonly id: string;
  readonly fps: number;
  /** Oscillator error: the real period is nominal × (1 + ppm·1e-6). Default 0. */
  readonly ppm?: number;
  /** Timestamp jitter (reported − true), ns: standard deviation (gaussian) or scale (heavy). Default 0. */
  readonly jitterNs?: number;
  readonly jitterShape?: 'gaussian' | 'heavy';
  /** Jitter never exceeds this magnitude (clipped), ns. Default: unbounded. */
  readonly jitterClipNs?: number;
  /** Probability that a frame is lost (the sequence still advances). Default 0. */
  readonly dropRate?: number;
  /** Mean stalls per simulated second (delivery stops, frames lost). Default 0. */
  readonly stallsPerSec?: number;
  readonly stallDurationNs?: number;
  /** Delay from the start instant to the first exposure: mean and uniform ± jitter, ns. Default 0 ± 0. */
  readonly startLatencyNs?: number;
  readonly startLatencyJitterNs?: number;
  /** Constant offset of every exposure after start, ns (a fixed sensor phase). Default 0. */
  readonly phaseNs?: number;
  /** Exposure time, ns. Default 1 ms. */
  readonly exposureNs?: number;
  /** Rolling-shutter readout, first row to last, ns: the end of frame is start + exposure + readout. Default 0. */
  readonly readoutNs?: number;
  /**
   * What the camera's config says of its readout and calibration offset (the inputs of the
   * mid-exposure correction, with the exposure it reports). Default: the truth (readoutNs, offset 0).
   */
  readonly configuredTiming?: { readonly readoutNs?: number; readonly offsetNs?: number };
  /** Delay from end of frame until the process has the frame: mean (exponential tail), ns. Default 200 µs. */
  readonly deliveryLatencyNs?: number;
  readonly timestampSource?: TimestampSource;
  /** Driver buffers; a frame that finds none free (the consumer holds them all) is lost. Default 32. */
  readonly buffers?: number;
  /** Bytes of pixel data per frame (zeros); 0 sends timing only. Ignored with `pixels`. Default 0. */
  readonly payloadBytes?: number;
  readonly width?: number;
  readonly height?: number;
  /** Real pixels: a moving test pattern with the camera id and exposure instant drawn in. */
  readonly pixels?: SimPixelsOptions;
  /** Fail `open()` with this message (a missing device, say). */
  readonly failOpen?: string;
  readonly clock?: HostClock;
}

/** Frames with real pixels (the camera's width and height are the image's). */
export interface SimPixelsOptions {
  readonly width: number;
  readonly height: number;
  /** Raw YUYV or GREY, or MJPG (the pattern JPEG-encoded by `encodeJpeg`). */
  readonly pixelFormat: 'YUYV' | 'GREY' | 'MJPG';
  /**
   * 'render' draws every frame (its stamp reads back exactly); 'ring' serves `ringFrames`
   * images rendered once, so that drawing pixels costs nothing per frame (benches). Default 'render'.
   */
  readonly mode?: 'render' | 'ring';
  /** Images in the ring. Default 8. */
  readonly ringFrames?: number;
  /** For MJPG: encodes a YUYV image as JPEG (the composer passes @syncap/jpeg's encoder). */
  readonly encodeJpeg?: (yuyv: Uint8Array, width: number, height: number) => Uint8Array;
}

/** What the simulation knows about a frame that a driver would not. */
export interface SimFrameTruth {
  readonly cameraId: string;
  /** Exposure index since start (k), the ground-truth group a frame belongs to. */
  readonly index: number;
  /** The true middle of the exposure (of the middle row): the instant cameras are synchronized on. */
  readonly truthNs: bigint;
  readonly delivered: boolean;
  readonly cause?: 'drop' | 'stall' | 'no-buffer' | 'disconnected';
}

type State = 'closed' | 'open' | 'streaming' | 'lost';

/**
 * A simulated camera on a SimScheduler. Frames carry the ground-truth exposure
 * instant (`truthNs`) next to the timestamp a driver would report, so tests can
 * measure true skew, not only reported skew.
 */
export class SimCamera implements CameraDevice {
  readonly id: string;
  private readonly o: Required<Omit<SimCameraOptions, 'failOpen' | 'clock' | 'pixels' | 'configuredTiming'>> & { failOpen?: string };
  private readonly pixels: SimPixelSource | undefined;
  private readonly correction: ExposureCorrection;
  private readonly clock: HostClock;
  private readonly frameListeners = new Listeners<Frame>();
  private readonly eventListeners = new Listeners<CameraEvent>();
  private readonly truthListeners = new Listeners<SimFrameTruth>();
  private state: State = 'closed';
  private infoValue: CameraInfo | undefined;
  private next: TaskHandle | undefined;
  private seq = 0;
  private index = 0;
  private firstExposureNs = 0n;
  /** Next exposure relative to the first, ns: accumulates periods (and trims) exactly. */
  private nextOffsetNs = 0;
  private trimNs = 0;
  private lastArrivalNs = 0n;
  private stalledUntilNs = -1n;
  private lostSinceLastDelivery = false;
  private freeBuffers: number;
  private readonly periodNs: number;
  private dropRate: number;
  /** Frames generated, delivered and lost, by cause. */
  readonly counts = { exposed: 0, delivered: 0, drop: 0, stall: 0, 'no-buffer': 0, disconnected: 0 };

  constructor(
    private readonly scheduler: SimScheduler,
    private readonly random: SeededRandom,
    options: SimCameraOptions,
  ) {
    if (!(options.fps > 0)) throw new ConfigError(`camera ${options.id}: fps must be > 0, got ${options.fps}`);
    this.id = options.id;
    this.clock = options.clock ?? perfectClock;
    this.o = {
      ppm: 0,
      jitterNs: 0,
      jitterShape: 'gaussian',
      jitterClipNs: Number.POSITIVE_INFINITY,
      dropRate: 0,
      stallsPerSec: 0,
      stallDurationNs: 200_000_000,
      startLatencyNs: 0,
      startLatencyJitterNs: 0,
      phaseNs: 0,
      exposureNs: 1_000_000,
      readoutNs: 0,
      deliveryLatencyNs: 200_000,
      timestampSource: 'start-of-exposure',
      buffers: 32,
      payloadBytes: 0,
      width: 640,
      height: 360,
      ...options,
    };
    this.periodNs = (NS_PER_S / this.o.fps) * (1 + this.o.ppm * 1e-6);
    this.freeBuffers = this.o.buffers;
    this.dropRate = this.o.dropRate;
    this.pixels = options.pixels ? new SimPixelSource(this.id, options.pixels, this.o.buffers) : undefined;
    this.correction = midExposureCorrection({
      timestampSource: this.o.timestampSource,
      exposureNs: this.o.exposureNs,
      readoutNs: options.configuredTiming?.readoutNs ?? this.o.readoutNs,
      offsetNs: options.configuredTiming?.offsetNs ?? 0,
    });
  }

  get info(): CameraInfo | undefined {
    return this.infoValue;
  }

  /** Buffers currently held by the consumer (not released). */
  get buffersInUse(): number {
    return this.o.buffers - this.freeBuffers;
  }

  async open(): Promise<void> {
    if (this.o.failOpen) throw new DeviceError('E_NO_DEVICE', this.id, this.o.failOpen);
    if (this.state !== 'closed') return;
    this.state = 'open';
    this.infoValue = {
      width: this.pixels?.width ?? this.o.width,
      height: this.pixels?.height ?? this.o.height,
      pixelFormat: this.pixels?.pixelFormat ?? 'SIM',
      fps: this.o.fps,
      timestampSource: this.o.timestampSource,
      exposure: this.correction,
      buffers: this.o.buffers,
    };
  }

  async start(options: StartOptions = {}): Promise<StartResult> {
    if (this.state === 'closed') throw new StateError(`camera ${this.id}: start() before open()`);
    if (this.state === 'lost') throw new DeviceError('E_DEVICE_LOST', this.id, 'device is disconnected; reconnect it before starting');
    if (this.state === 'streaming') await this.stop();
    const nowHost = this.clock.hostFromTrue(this.scheduler.nowNs);
    const atHost = options.atNs !== undefined && options.atNs > nowHost ? options.atNs : nowHost;
    const startTrue = this.clock.trueFromHost(atHost);
    const latency = this.o.startLatencyNs + this.random.uniform(-1, 1) * this.o.startLatencyJitterNs;
    this.firstExposureNs = startTrue + BigInt(Math.round(Math.max(0, latency) + this.o.phaseNs));
    this.seq = 0;
    this.index = 0;
    this.nextOffsetNs = 0;
    this.state = 'streaming';
    this.scheduleNext();
    const startedAtNs = this.clock.hostFromTrue(this.firstExposureNs);
    return { startedAtNs, lateByNs: options.atNs !== undefined ? Number(startedAtNs - options.atNs) : undefined };
  }

  async stop(): Promise<void> {
    this.next?.cancel();
    this.next = undefined;
    if (this.state === 'streaming') this.state = 'open';
  }

  async close(): Promise<void> {
    await this.stop();
    if (this.state !== 'lost') this.state = 'closed';
  }

  /**
   * Simulates unplugging: a `lost` event, then no frames until reconnect() and start().
   * The instants it would have exposed at are still reported to truth listeners, lost
   * with cause `disconnected`, so an oracle can count what the outage cost.
   */
  disconnect(): void {
    if (this.state === 'closed' || this.state === 'lost') return;
    if (this.state !== 'streaming') {
      this.next?.cancel();
      this.next = undefined;
    }
    this.state = 'lost';
    this.eventListeners.emit({ type: 'lost', cameraId: this.id, error: new DeviceError('E_DEVICE_LOST', this.id, 'device disconnected') });
  }

  /** Plugged back in: a `reconnected` event; the device is open and must be started again. */
  reconnect(): void {
    if (this.state !== 'lost') return;
    this.next?.cancel();
    this.next = undefined;
    this.state = 'open';
    this.eventListeners.emit({ type: 'reconnected', cameraId: this.id });
  }

  /** Delivery stops for `durationNs` from now (a USB hiccup, a driver stall); frames exposed meanwhile are lost. */
  stall(durationNs: number): void {
    const until = this.scheduler.nowNs + BigInt(Math.round(durationNs));
    if (until > this.stalledUntilNs) this.stalledUntilNs = until;
  }

  /** Changes the probability that a frame is lost (a burst of drops). */
  setDropRate(rate: number): void {
    this.dropRate = rate;
  }

  /** Whether the device is unplugged (between disconnect() and reconnect()). */
  get disconnected(): boolean {
    return this.state === 'lost';
  }

  /** Sensor blanking control: every following period is longer by `trimNs` (negative: shorter). */
  setPeriodTrimNs(trimNs: number): void {
    this.trimNs = trimNs;
  }

  onFrame(listener: (frame: Frame) => void): Unsubscribe {
    return this.frameListeners.add(listener);
  }

  onEvent(listener: (event: CameraEvent) => void): Unsubscribe {
    return this.eventListeners.add(listener);
  }

  /** Every exposure, delivered or not, with its ground truth (for test oracles). */
  onTruth(listener: (truth: SimFrameTruth) => void): Unsubscribe {
    return this.truthListeners.add(listener);
  }

  private scheduleNext(): void {
    const k = this.index;
    const exposureNs = this.firstExposureNs + BigInt(Math.round(this.nextOffsetNs));
    this.nextOffsetNs += this.periodNs + this.trimNs;
    const endOfFrameNs = exposureNs + BigInt(Math.round(this.o.exposureNs + this.o.readoutNs));
    let arrivalNs = endOfFrameNs + BigInt(Math.round(this.random.exponential(this.o.deliveryLatencyNs)));
    // Drivers deliver in order.
    if (arrivalNs <= this.lastArrivalNs) arrivalNs = this.lastArrivalNs + 1n;
    this.lastArrivalNs = arrivalNs;
    this.next = this.scheduler.at(arrivalNs, () => this.deliver(k, exposureNs, endOfFrameNs, arrivalNs));
  }

  private deliver(k: number, exposureNs: bigint, endOfFrameNs: bigint, arrivalNs: bigint): void {
    const seq = this.seq;
    this.seq = (this.seq + 1) >>> 0;
    this.index++;
    this.counts.exposed++;
    const cause = this.lossCause(arrivalNs);
    this.truthListeners.emit({ cameraId: this.id, index: k, truthNs: this.midExposure(exposureNs), delivered: cause === undefined, cause });
    if (cause) {
      this.counts[cause]++;
      this.lostSinceLastDelivery = true;
    } else {
      this.counts.delivered++;
      this.frameListeners.emit(this.makeFrame(seq, exposureNs, endOfFrameNs, arrivalNs));
    }
    if (this.state === 'streaming' || this.state === 'lost') this.scheduleNext();
  }

  private takeDropFlag(): number {
    const flag = this.lostSinceLastDelivery ? FrameFlags.DROP_BEFORE : FrameFlags.NONE;
    this.lostSinceLastDelivery = false;
    return flag;
  }

  private lossCause(arrivalNs: bigint): SimFrameTruth['cause'] {
    if (this.state === 'lost') return 'disconnected';
    if (arrivalNs < this.stalledUntilNs) return 'stall';
    if (this.o.stallsPerSec > 0 && this.random.chance((this.o.stallsPerSec * this.periodNs) / NS_PER_S)) {
      this.stalledUntilNs = arrivalNs + BigInt(Math.round(this.o.stallDurationNs));
      return 'stall';
    }
    if (this.random.chance(this.dropRate)) return 'drop';
    if (this.freeBuffers === 0) return 'no-buffer';
    return undefined;
  }

  /** The true middle of the exposure of the middle row. */
  private midExposure(exposureStartNs: bigint): bigint {
    return exposureStartNs + BigInt(Math.round(this.o.exposureNs / 2 + this.o.readoutNs / 2));
  }

  private makeFrame(seq: number, exposureNs: bigint, endOfFrameNs: bigint, arrivalNs: bigint): Frame {
    const stampTrue = this.o.timestampSource === 'end-of-frame' ? endOfFrameNs : exposureNs;
    let jitter =
      this.o.jitterNs === 0 ? 0 : this.o.jitterShape === 'heavy' ? this.random.studentT(3) * this.o.jitterNs : this.random.normal() * this.o.jitterNs;
    if (jitter > this.o.jitterClipNs) jitter = this.o.jitterClipNs;
    if (jitter < -this.o.jitterClipNs) jitter = -this.o.jitterClipNs;
    const deviceTimeNs = this.clock.hostFromTrue(stampTrue + BigInt(Math.round(jitter)));
    this.freeBuffers--;
    const image = this.pixels?.take(seq, deviceTimeNs);
    let released = false;
    const data = {
      bytes: image?.bytes ?? new Uint8Array(this.o.payloadBytes),
      release: () => {
        if (released) return;
        released = true;
        this.freeBuffers++;
        image?.release();
      },
    };
    const correctionNs = this.correction.correctionNs;
    return {
      cameraId: this.id,
      seq,
      deviceTimeNs,
      rigTimeNs: deviceTimeNs + BigInt(Math.round(correctionNs)),
      flags: this.takeDropFlag(),
      timestampSource: this.o.timestampSource,
      exposureCorrectionNs: correctionNs,
      arrivalNs: this.clock.hostFromTrue(arrivalNs),
      truthNs: this.midExposure(exposureNs),
      data,
    };
  }
}
