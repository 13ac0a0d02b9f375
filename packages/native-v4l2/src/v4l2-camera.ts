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
  type StartOptions,
  type StartResult,
  StateError,
  seqForwardDistance,
  type Timers,
  type TimestampSource,
  type Unsubscribe,
} from '@syncap/core';
import { type ControlValue, findControl, resolveControls, toControlValue } from './controls.js';
import { checkFormat, type DeviceDescription, describe, toDeviceError } from './devices.js';
import { type ExposureReading, readExposure } from './exposure.js';
import { V4l2FrameData } from './frame-data.js';
import { loadBinding } from './native-addon.js';
import type {
  NativeBinding,
  NativeCameraEvent,
  NativeCameraHandle,
  NativeCameraStats,
  NativeControl,
  NativeEventCallback,
  NativeFrameCallback,
  NativeOpenResult,
} from './native-binding.js';

export interface V4l2CameraOptions {
  /** Camera id in the rig. Default: the device path. */
  readonly id?: string;
  readonly width?: number;
  readonly height?: number;
  /** FourCC, any case: "YUYV", "mjpg", "H264". Compressed formats are handed on as they come, never decoded. */
  readonly pixelFormat?: string;
  readonly fps?: number;
  /** Driver buffers to request. Default 8. */
  readonly buffers?: number;
  /**
   * 'zero-copy' hands out views over the driver's buffers (release() re-queues); 'copy' copies
   * each frame as it is dequeued (in the addon, not on the JS thread). Default 'zero-copy',
   * except on drivers that overwrite a buffer the reader holds (v4l2loopback): 'copy' there.
   */
  readonly mode?: 'zero-copy' | 'copy';
  /**
   * How frames reach JS. 'event-loop' (the default): after the synchronized STREAMON the JS
   * thread dequeues frames itself; one poller serves every camera, so one wake-up hands over
   * every frame that is ready. 'thread': a capture thread per camera dequeues and hands frames
   * over through a bounded queue (overflows counted) — the delivery `priority` and `cpu` apply
   * to, and the default when either is set or the addon was built without libuv's header.
   * Either way the kernel timestamps each frame; a busy JS thread delays delivery, not timestamps.
   */
  readonly delivery?: 'event-loop' | 'thread';
  /**
   * Event-loop delivery: how wake-ups of the JS thread are shared. A wake-up of Node's loop
   * costs more than handing over a frame, so once frames flow the poller can wake on a timer
   * instead and hand over every frame ready by then, until a wake-up finds none: cameras out
   * of phase then share wake-ups, for up to one interval of added latency (timestamps are the
   * driver's either way). 'auto' (the default) does so only when two or more cameras stream
   * and their frames come out of phase (the poll's wake-ups serve few of them each), ticking
   * at the frame period and polling again now and then to see whether that still holds;
   * phase-locked cameras already share a wake-up at no latency. N (1–1000 ms, less than
   * (buffers − 1) frame periods, or the driver runs out of free buffers between wake-ups;
   * a ConfigError at construction with `fps`, else at open with the device's own rate):
   * always, every N ms. 0: each frame as soon as it is ready. One poller serves all of a
   * process's cameras: 0 on any of them turns coalescing off, and the smallest N applies.
   */
  readonly coalesceMs?: number | 'auto';
  /** SCHED_FIFO priority for the capture thread (1–99); EPERM is a warning. Needs thread delivery. */
  readonly priority?: number;
  /** Pin the capture thread to this CPU. Needs thread delivery. */
  readonly cpu?: number;
  /** Thread delivery: frames waiting for JS at most; past this, frames are dropped in the capture thread and counted. Default 2 × buffers. */
  readonly maxQueue?: number;
  /** Busy-wait this long before the start instant after sleeping, ns. Default 200 µs. */
  readonly spinNs?: number;
  /** Check the request against the device's advertised formats first (clear errors). Default true. */
  readonly validate?: boolean;
  /**
   * Controls set at open, after the format, by name (see `listControls()`): numbers, menu items
   * by label or index, booleans. A wrong name or value fails open() naming the control and what
   * it allows; nothing is set then.
   */
  readonly controls?: Readonly<Record<string, ControlValue>>;
  /**
   * Mid-exposure timestamps (DESIGN §2): the sensor's readout time (first row to last) and a
   * calibrated offset, ns. With the exposure time from the device's exposure control and the
   * timestamp source of each buffer, every frame's `rigTimeNs` is the middle of its exposure.
   */
  readonly exposure?: { readonly readoutNs?: number; readonly offsetNs?: number };
  /**
   * After `lost`, watch for the device to come back under the same name (a /dev/v4l/by-id
   * name survives a replug even when /dev/videoN changes), reopen it and emit `reconnected`.
   * Default: on for /dev/v4l/by-id/… and /dev/v4l/by-path/… names, off for /dev/videoN.
   */
  readonly reconnect?: boolean | { readonly intervalMs?: number };
  /** The native binding. Default: the compiled addon; tests pass a `MockV4l2Binding`. */
  readonly binding?: NativeBinding;
  /** Timers for the reconnect watch. Default: Node's. */
  readonly timers?: Timers;
}

/** A V4L2 frame: the core Frame plus driver details. */
export interface V4l2Frame extends Frame {
  /** Monotonic instant the buffer was dequeued. */
  readonly dqNs: bigint;
  /** Bytes of the buffer the frame fills (compressed frames vary frame to frame). */
  readonly bytesused: number;
  readonly bufferIndex: number;
}

/** What a synchronized start achieved for one camera. */
export interface V4l2StartResult extends StartResult {
  readonly streamonEndNs: bigint;
  readonly warnings: readonly string[];
}

/** What the driver settled on at open, beyond core's CameraInfo. */
export interface V4l2Details {
  /** The node the camera's path led to at open (/dev/videoN). */
  readonly devicePath: string;
  readonly compressed: boolean;
  readonly bytesPerLine: number;
  readonly sizeImage: number;
  readonly card: string;
  readonly driver: string;
  readonly bus: string;
  /** The exposure time used for mid-exposure timestamps and where it came from. */
  readonly exposure: ExposureReading;
  /** How frames are handed out (see V4l2CameraOptions.mode: copies by default on v4l2loopback). */
  readonly mode: 'zero-copy' | 'copy';
}

/**
 * Drivers whose producer overwrites a buffer while a reader holds it: v4l2loopback writes each
 * frame into the next of its buffers round-robin, whatever the reader has dequeued, so a view
 * held past the next frames would change under the application (a recorded JPEG was cut short).
 */
const OVERWRITING_DRIVERS: ReadonlySet<string> = new Set(['v4l2 loopback']);

/** Counters of one camera. */
export interface V4l2CameraStats extends NativeCameraStats {
  /** Frames the driver dropped, from sequence gaps. */
  readonly drops: number;
  /** Times the device came back after a loss. */
  readonly reconnects: number;
}

const BY_NAME = /^\/dev\/v4l\/by-(id|path)\//;
const V4L2_BUF_FLAG_ERROR = 0x0000_0040;
const V4L2_BUF_FLAG_TSTAMP_SRC_MASK = 0x0007_0000;
const V4L2_BUF_FLAG_TSTAMP_SRC_SOE = 0x0001_0000;
/** While exposure is automatic, it is read again at most this often (in device time). */
const EXPOSURE_REFRESH_NS = 500_000_000n;
const nodeTimers: Timers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };

/** The delivery a camera's options select; asking for event-loop delivery with thread options is a ConfigError. */
function chooseDelivery(id: string, o: V4l2CameraOptions, binding: NativeBinding): 'event-loop' | 'thread' {
  const threadOnly = o.priority !== undefined || o.cpu !== undefined;
  if (o.delivery === 'event-loop' && threadOnly) {
    // Priority and affinity belong to a capture thread; under event-loop delivery the JS thread
    // dequeues, and raising or pinning it would change the whole application.
    throw new ConfigError(`${id}: priority and cpu apply to a capture thread, and event-loop delivery has none: use delivery: 'thread' or drop them`);
  }
  const delivery = o.delivery ?? (threadOnly || !binding.eventLoopDelivery ? 'thread' : 'event-loop');
  if (o.coalesceMs !== undefined && o.coalesceMs !== 'auto') {
    if (!(Number.isFinite(o.coalesceMs) && o.coalesceMs >= 0 && o.coalesceMs <= 1000))
      throw new ConfigError(`${id}: coalesceMs must be 'auto' or a number of ms from 0 to 1000, got ${o.coalesceMs}`);
    // Checked again at open with the rate and buffer count the driver settled on.
    if (o.fps) checkCoalescingFits(id, o.coalesceMs, o.buffers ?? 8, o.fps);
    if (delivery === 'thread' && o.coalesceMs > 0)
      throw new ConfigError(
        `${id}: coalesceMs applies to event-loop delivery (a capture thread hands each frame on as it comes): drop it or use delivery: 'event-loop'`,
      );
  }
  return delivery;
}

/**
 * A fixed coalescing interval must leave the driver a free buffer: frames wait in the buffers
 * between wake-ups, and with none free the driver drops. ConfigError naming what to change.
 */
function checkCoalescingFits(id: string, coalesceMs: number, buffers: number, fps: number): void {
  const fillMs = ((buffers - 1) * 1000) / fps;
  if (coalesceMs >= fillMs)
    throw new ConfigError(
      `${id}: coalesceMs ${coalesceMs} would let ${buffers} buffers at ${fps} fps fill up (frames wait in them between wake-ups): give less than ${Math.floor(fillMs)} ms, or more buffers`,
    );
}

function timestampSourceOf(flags: number): TimestampSource {
  return (flags & V4L2_BUF_FLAG_TSTAMP_SRC_MASK) === V4L2_BUF_FLAG_TSTAMP_SRC_SOE ? 'start-of-exposure' : 'end-of-frame';
}

/**
 * A V4L2 capture device. Seed: `v4l2_camera_device` + `V4l2CustomCapture` (kernel timestamps).
 * Frames arrive as zero-copy views over the driver's buffers that must be released.
 */
export class V4l2Camera implements CameraDevice {
  readonly id: string;
  /** How this camera's frames reach JS (see V4l2CameraOptions.delivery). */
  readonly delivery: 'event-loop' | 'thread';
  private readonly binding: NativeBinding;
  private readonly native: NativeCameraHandle;
  private readonly frames = new Listeners<Frame>();
  private readonly events = new Listeners<CameraEvent>();
  private readonly timers: Timers;
  private infoValue: CameraInfo | undefined;
  private detailsValue: V4l2Details | undefined;
  private pendingStart: { resolve(r: V4l2StartResult): void; reject(e: Error): void } | undefined;
  private lastSeq: number | undefined;
  private state: 'closed' | 'open' | 'streaming' | 'lost' = 'closed';
  private drops = 0;
  private reconnects = 0;
  private reconnectTimer: unknown;
  private exposureValue: ExposureReading = { exposureNs: 0, automatic: false };
  private exposureReadNs = 0n;
  private correction: { source: TimestampSource; exposureNs: number; value: ExposureCorrection; ns: bigint } | undefined;
  /** Warnings from the last start (priority or affinity not applied). */
  warnings: readonly string[] = [];
  // Held here: the addon holds its callbacks weakly unless streaming, so a camera dropped
  // without close() can be collected (its finalizer closes the device).
  private readonly frameCallback: NativeFrameCallback = (index, generation, sequence, flags, bytesused, timestampNs, dqNs, arrivalNs, data, copied) =>
    this.onFrameData(index, generation, sequence, flags, bytesused, timestampNs, dqNs, arrivalNs, data, copied);
  private readonly eventCallback: NativeEventCallback = (event) => this.onNativeEvent(event);

  constructor(
    readonly path: string,
    private readonly options: V4l2CameraOptions = {},
  ) {
    this.id = options.id ?? path;
    this.binding = options.binding ?? loadBinding();
    this.timers = options.timers ?? nodeTimers;
    this.delivery = chooseDelivery(this.id, options, this.binding);
    this.native = this.binding.createCamera(this.frameCallback, this.eventCallback);
  }

  get info(): CameraInfo | undefined {
    return this.infoValue;
  }

  /** Driver details of the open device (node, compression, buffer sizes, exposure source). */
  get details(): V4l2Details | undefined {
    return this.detailsValue;
  }

  /** CLOCK_MONOTONIC now as this camera's binding reads it, ns (the clock of `start({ atNs })`). */
  monotonicNowNs(): bigint {
    return this.binding.monotonicNow();
  }

  async open(): Promise<void> {
    if (this.state === 'open' || this.state === 'streaming') return;
    this.openDevice();
  }

  /** Starts streaming at `atNs` (CLOCK_MONOTONIC) — a synchronized STREAMON — or now. */
  start(options: StartOptions = {}): Promise<V4l2StartResult> {
    if (this.state === 'closed') return Promise.reject(new StateError(`${this.id}: start() before open()`));
    if (this.state === 'lost') return Promise.reject(new DeviceError('E_DEVICE_LOST', this.id, 'device was lost; open it again once it is back'));
    if (this.pendingStart || this.state === 'streaming') return Promise.reject(new StateError(`${this.id}: already started`));
    return new Promise((resolve, reject) => {
      this.pendingStart = { resolve, reject };
      this.lastSeq = undefined;
      try {
        this.native.start(options.atNs ?? 0n, {
          priority: this.options.priority,
          cpu: this.options.cpu,
          spinNs: this.options.spinNs,
          maxQueue: this.options.maxQueue,
          eventLoop: this.delivery === 'event-loop',
          ...this.coalescing(),
        });
      } catch (error) {
        this.pendingStart = undefined;
        reject(toDeviceError(this.id, error));
      }
    });
  }

  async stop(): Promise<void> {
    if (this.state === 'closed') return;
    this.native.stop();
    this.rejectPendingStart(new DeviceError('E_STOPPED', this.id, 'stopped before streaming started'));
    if (this.state === 'streaming') this.state = 'open';
  }

  async close(): Promise<void> {
    this.cancelReconnect();
    await this.stop();
    this.native.close();
    this.state = 'closed';
  }

  onFrame(listener: (frame: Frame) => void): Unsubscribe {
    return this.frames.add(listener);
  }

  onEvent(listener: (event: CameraEvent) => void): Unsubscribe {
    return this.events.add(listener);
  }

  /** Every control with its type, range, default, current value and menu items. */
  listControls(): NativeControl[] {
    try {
      return this.native.listControls();
    } catch (error) {
      throw toDeviceError(this.id, error);
    }
  }

  getControl(name: string): number | bigint | string {
    try {
      return this.native.getControl(name);
    } catch (error) {
      throw toDeviceError(this.id, error);
    }
  }

  /**
   * Sets a control by name: a number, a menu item by label or index, a boolean (buttons take
   * no value). Throws DeviceError('E_CONTROL') naming the control and what it allows.
   */
  setControl(name: string, value?: ControlValue): void {
    const c = findControl(this.id, this.listControls(), name);
    const raw = value === undefined && c.type === 'button' ? undefined : toControlValue(this.id, c, value ?? '');
    try {
      this.native.setControl(name, raw);
    } catch (error) {
      throw toDeviceError(this.id, error);
    }
    this.refreshExposure();
  }

  /** Frames delivered and dropped (by the driver: sequence gaps; by JS falling behind: overflows), buffers JS holds, reconnects. */
  stats(): V4l2CameraStats {
    return { ...this.native.stats(), drops: this.drops, reconnects: this.reconnects };
  }

  private openDevice(): void {
    const o = this.options;
    let pixelFormat = o.pixelFormat;
    let description: DeviceDescription | undefined;
    if (o.validate !== false && (o.pixelFormat || o.width || o.height || o.fps)) {
      description = describe(this.path, this.binding);
      pixelFormat = checkFormat(this.id, description, o).pixelFormat;
    }
    // Controls are checked here, set by the addon between the format and the buffers.
    const controls = o.controls && resolveControls(this.id, description?.controls ?? this.controlsAt(this.path), o.controls);
    const mode = o.mode ?? (OVERWRITING_DRIVERS.has(description?.driver ?? this.driverAt(this.path)) ? 'copy' : 'zero-copy');
    let r: NativeOpenResult;
    try {
      r = this.native.open(this.path, {
        width: o.width,
        height: o.height,
        pixelFormat,
        fps: o.fps,
        buffers: o.buffers ?? 8,
        copy: mode === 'copy',
        controls,
      });
      this.exposureValue = readExposure(this.native.listControls());
    } catch (error) {
      this.native.close();
      throw toDeviceError(this.id, error);
    }
    // Without fps in the options the device's own rate decides whether the interval fits.
    const c = o.coalesceMs;
    if (this.delivery === 'event-loop' && typeof c === 'number' && c > 0 && r.fps > 0) {
      try {
        checkCoalescingFits(this.id, c, r.buffers, r.fps);
      } catch (error) {
        this.native.close();
        throw error;
      }
    }
    this.correction = undefined;
    const source: TimestampSource = r.timestampSource;
    this.infoValue = {
      width: r.width,
      height: r.height,
      pixelFormat: r.pixelFormat,
      fps: r.fps,
      timestampSource: source,
      exposure: this.correctionFor(source).value,
      ...(mode === 'copy' ? {} : { buffers: r.buffers }),
    };
    this.detailsValue = {
      devicePath: this.binding.resolvePath(this.path) ?? this.path,
      compressed: r.compressed,
      bytesPerLine: r.bytesPerLine,
      sizeImage: r.sizeImage,
      card: r.card,
      driver: r.driver,
      bus: r.bus,
      exposure: this.exposureValue,
      mode,
    };
    this.state = 'open';
  }

  /** The device's driver name, or '' when it cannot be described (open then says why). */
  private driverAt(path: string): string {
    try {
      return this.binding.describe(path).driver ?? '';
    } catch {
      return '';
    }
  }

  private controlsAt(path: string): NativeControl[] {
    try {
      return this.binding.listControls(path);
    } catch (error) {
      throw toDeviceError(this.id, error);
    }
  }

  /** Reads the exposure time again (after a control changed, or now and then under auto exposure). */
  private refreshExposure(): void {
    let reading: ExposureReading;
    try {
      reading = readExposure(this.native.listControls());
    } catch {
      return; // the device went away: the loss is reported on its own
    }
    this.exposureValue = reading;
    if (this.detailsValue) this.detailsValue = { ...this.detailsValue, exposure: reading };
  }

  /** The mid-exposure correction for a timestamp source at the current exposure (cached). */
  private correctionFor(source: TimestampSource): { value: ExposureCorrection; ns: bigint } {
    const exposureNs = this.exposureValue.exposureNs;
    const c = this.correction;
    if (c && c.source === source && c.exposureNs === exposureNs) return c;
    const value = midExposureCorrection({ timestampSource: source, exposureNs, ...this.options.exposure });
    this.correction = { source, exposureNs, value, ns: BigInt(Math.round(value.correctionNs)) };
    if (this.infoValue && (this.infoValue.timestampSource !== source || this.infoValue.exposure?.correctionNs !== value.correctionNs)) {
      this.infoValue = { ...this.infoValue, timestampSource: source, exposure: value };
    }
    return this.correction;
  }

  private rejectPendingStart(error: Error): void {
    const start = this.pendingStart;
    this.pendingStart = undefined;
    start?.reject(error);
  }

  private onNativeEvent(event: NativeCameraEvent): void {
    if (event.kind === 'started') {
      this.state = 'streaming';
      this.warnings = event.warnings;
      const start = this.pendingStart;
      this.pendingStart = undefined;
      start?.resolve({
        startedAtNs: event.streamonStartNs,
        streamonEndNs: event.streamonEndNs,
        lateByNs: event.requestedNs > 0n ? Number(event.streamonStartNs - event.requestedNs) : undefined,
        warnings: event.warnings,
      });
      return;
    }
    const error = toDeviceError(this.id, event);
    // Streaming is over either way: give the buffers back (and, when the device is gone, its fd).
    this.native.stop();
    if (event.kind === 'lost') {
      this.native.close();
      this.state = 'lost';
      this.watchForReplug();
    } else if (this.state === 'streaming') {
      this.state = 'open';
    }
    this.rejectPendingStart(error);
    this.events.emit(event.kind === 'lost' ? { type: 'lost', cameraId: this.id, error } : { type: 'error', cameraId: this.id, error });
  }

  private get reconnectIntervalMs(): number | undefined {
    const r = this.options.reconnect ?? BY_NAME.test(this.path);
    if (r === false) return undefined;
    return r === true ? 500 : (r.intervalMs ?? 500);
  }

  /** After a loss: look for the path again every interval; once it leads to a device that opens, `reconnected`. */
  private watchForReplug(): void {
    const intervalMs = this.reconnectIntervalMs;
    if (intervalMs === undefined) return;
    const tick = () => {
      this.reconnectTimer = undefined;
      if (this.state !== 'lost') return;
      if (this.binding.resolvePath(this.path) !== undefined) {
        try {
          this.openDevice();
          this.reconnects++;
          this.events.emit({ type: 'reconnected', cameraId: this.id });
          return;
        } catch {
          // Back, but not ready yet (still enumerating, busy): try again next interval.
        }
      }
      this.reconnectTimer = this.timers.setTimeout(tick, intervalMs);
    };
    this.reconnectTimer = this.timers.setTimeout(tick, intervalMs);
  }

  private cancelReconnect(): void {
    if (this.reconnectTimer !== undefined) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  /** The native start options for coalescing: -1 is adaptive, at the opened format's frame period (off with fewer than 4 buffers). */
  private coalescing(): { coalesceMs: number; autoCoalesceMs: number } {
    const c = this.options.coalesceMs ?? 'auto';
    if (c !== 'auto') return { coalesceMs: Math.round(c), autoCoalesceMs: 0 };
    const fps = this.infoValue?.fps ?? this.options.fps;
    const buffers = this.infoValue?.buffers ?? this.options.buffers ?? 8;
    // Ticking a little slower than the frames: each tick finds a frame of every camera.
    return { coalesceMs: -1, autoCoalesceMs: fps && fps > 0 && buffers >= 4 ? Math.ceil(1000 / fps) : 0 };
  }

  private onFrameData(
    index: number,
    generation: number,
    sequence: number,
    bufferFlags: number,
    bytesused: number,
    timestampNs: bigint,
    dqNs: bigint,
    arrivalNs: bigint,
    data: Uint8Array,
    copied: boolean,
  ): void {
    if (this.state !== 'streaming') {
      // Left over from a session that has since stopped: stale, never handed out.
      if (!copied) this.native.release(index, generation);
      return;
    }
    let flags = bufferFlags & V4L2_BUF_FLAG_ERROR ? FrameFlags.ERROR : FrameFlags.NONE;
    if (this.lastSeq !== undefined) {
      const gap = seqForwardDistance(this.lastSeq, sequence);
      if (gap > 1) {
        flags |= FrameFlags.DROP_BEFORE;
        this.drops += gap - 1;
      }
    }
    this.lastSeq = sequence;
    if (this.exposureValue.automatic && timestampNs - this.exposureReadNs > EXPOSURE_REFRESH_NS) {
      this.exposureReadNs = timestampNs;
      this.refreshExposure();
    }
    const source = timestampSourceOf(bufferFlags);
    const correction = this.correctionFor(source);
    const frame: V4l2Frame = {
      cameraId: this.id,
      seq: sequence,
      deviceTimeNs: timestampNs,
      rigTimeNs: timestampNs + correction.ns,
      exposureCorrectionNs: correction.value.correctionNs,
      flags,
      timestampSource: source,
      arrivalNs,
      dqNs,
      bytesused,
      bufferIndex: index,
      data: new V4l2FrameData(this.native, this.id, sequence, index, generation, data, copied),
    };
    if (this.frames.size === 0) {
      frame.data!.release();
      return;
    }
    this.frames.emit(frame);
  }
}
