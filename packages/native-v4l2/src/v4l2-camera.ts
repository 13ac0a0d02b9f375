import {
  type CameraDevice,
  type CameraEvent,
  type CameraInfo,
  DeviceError,
  type Frame,
  type FrameData,
  FrameFlags,
  Listeners,
  type StartOptions,
  type StartResult,
  StateError,
  seqForwardDistance,
  type TimestampSource,
  type Unsubscribe,
} from '@syncap/core';
import {
  loadAddon,
  NATIVE_FRAME,
  type NativeCameraHandle,
  type NativeControl,
  type NativeEmit,
  type NativeErrorPayload,
  type NativeStartedPayload,
} from './addon.js';
import { checkFormat, describe, toDeviceError } from './devices.js';

export interface V4l2CameraOptions {
  /** Camera id in the rig. Default: the device path. */
  readonly id?: string;
  readonly width?: number;
  readonly height?: number;
  /** FourCC, e.g. "YUYV". */
  readonly pixelFormat?: string;
  readonly fps?: number;
  /** Driver buffers to request. Default 8. */
  readonly buffers?: number;
  /** 'zero-copy' hands out views over the driver's buffers (release() re-queues); 'copy' copies each frame. Default 'zero-copy'. */
  readonly mode?: 'zero-copy' | 'copy';
  /** SCHED_FIFO priority for the capture thread (1–99); EPERM is a warning. */
  readonly priority?: number;
  /** Pin the capture thread to this CPU. */
  readonly cpu?: number;
  /** Frames waiting for JS at most; past this, frames are dropped in the capture thread and counted. Default 2 × buffers. */
  readonly maxQueue?: number;
  /** Busy-wait this long before the start instant after sleeping, ns. Default 200 µs. */
  readonly spinNs?: number;
  /**
   * How frames reach JS. 'thread' (the default): a capture thread per camera dequeues and hands
   * frames over through a bounded queue (overflows counted); `priority` and `cpu` apply to it.
   * 'event-loop': after the synchronized STREAMON, the JS thread polls the device and dequeues
   * frames itself — one wake-up per frame; about 3.5× less CPU and 10× less latency in
   * bench:capture. Opt-in for now (see the README). Either way the kernel timestamps each
   * frame; a busy JS thread delays delivery, not the timestamps.
   */
  readonly delivery?: 'thread' | 'event-loop';
  /** Check the request against the device's advertised formats first (clear errors). Default true. */
  readonly validate?: boolean;
}

/** A V4L2 frame: the core Frame plus driver details. */
export interface V4l2Frame extends Frame {
  /** Monotonic instant the capture thread dequeued the buffer. */
  readonly dqNs: bigint;
  readonly bytesused: number;
  readonly bufferIndex: number;
}

/** What a synchronized start achieved for one camera. */
export interface V4l2StartResult extends StartResult {
  readonly streamonEndNs: bigint;
  readonly warnings: readonly string[];
}

/**
 * A V4L2 capture device. Seed: `v4l2_camera_device` + `V4l2CustomCapture` (kernel timestamps).
 * One capture thread per camera; frames arrive as zero-copy views that must be released.
 */
export class V4l2Camera implements CameraDevice {
  readonly id: string;
  private readonly native: NativeCameraHandle;
  private readonly frames = new Listeners<Frame>();
  private readonly events = new Listeners<CameraEvent>();
  private infoValue: CameraInfo | undefined;
  private pendingStart: { resolve(r: V4l2StartResult): void; reject(e: Error): void; atNs: bigint } | undefined;
  private lastSeq: number | undefined;
  private state: 'closed' | 'open' | 'streaming' | 'lost' = 'closed';
  /** Warnings from the last start (priority or affinity not applied). */
  warnings: readonly string[] = [];

  constructor(
    readonly path: string,
    private readonly options: V4l2CameraOptions = {},
  ) {
    this.id = options.id ?? path;
    const onEmit = (
      kind: number | string,
      a: unknown,
      generation?: number,
      sequence?: number,
      flags?: number,
      bytesused?: number,
      timestampNs?: bigint,
      dqNs?: bigint,
      data?: ArrayBuffer,
      copied?: boolean,
    ) => {
      if (kind === NATIVE_FRAME) this.onFrameData(a as number, generation!, sequence!, flags!, bytesused!, timestampNs!, dqNs!, data!, copied!);
      else this.onNative(kind as string, a);
    };
    this.native = new (loadAddon().NativeCamera)(onEmit as NativeEmit);
  }

  get info(): CameraInfo | undefined {
    return this.infoValue;
  }

  /** How this camera's frames reach JS (see V4l2CameraOptions.delivery). */
  get delivery(): 'thread' | 'event-loop' {
    return this.options.delivery ?? 'thread';
  }

  async open(): Promise<void> {
    if (this.state !== 'closed') return;
    const o = this.options;
    if (o.validate !== false && (o.pixelFormat || o.width || o.height || o.fps)) {
      let description: ReturnType<typeof describe>;
      try {
        description = describe(this.path);
      } catch (error) {
        throw toDeviceError(this.id, error);
      }
      checkFormat(this.id, description, o);
    }
    try {
      const r = this.native.open(this.path, {
        width: o.width,
        height: o.height,
        pixelFormat: o.pixelFormat,
        fps: o.fps,
        buffers: o.buffers ?? 8,
        copy: o.mode === 'copy',
      });
      this.infoValue = {
        width: r.width,
        height: r.height,
        pixelFormat: r.pixelFormat,
        fps: r.fps,
        timestampSource: r.timestampSource,
        ...(o.mode === 'copy' ? {} : { buffers: r.buffers }),
      };
    } catch (error) {
      throw toDeviceError(this.id, error);
    }
    this.state = 'open';
  }

  /** Starts streaming at `atNs` (CLOCK_MONOTONIC) — a synchronized STREAMON — or now. */
  start(options: StartOptions = {}): Promise<V4l2StartResult> {
    if (this.state === 'closed') return Promise.reject(new StateError(`${this.id}: start() before open()`));
    if (this.state === 'lost') return Promise.reject(new DeviceError('E_DEVICE_LOST', this.id, 'device was lost; open it again'));
    if (this.pendingStart || this.state === 'streaming') return Promise.reject(new StateError(`${this.id}: already started`));
    const atNs = options.atNs ?? 0n;
    return new Promise((resolve, reject) => {
      this.pendingStart = { resolve, reject, atNs };
      this.lastSeq = undefined;
      try {
        this.native.start(atNs, {
          priority: this.options.priority,
          cpu: this.options.cpu,
          spinNs: this.options.spinNs,
          maxQueue: this.options.maxQueue,
          eventLoop: this.delivery === 'event-loop',
        });
      } catch (error) {
        this.pendingStart = undefined;
        reject(toDeviceError(this.id, error));
      }
    });
  }

  async stop(): Promise<void> {
    this.native.stop();
    if (this.pendingStart) {
      this.pendingStart.reject(new DeviceError('E_STOPPED', this.id, 'stopped before streaming started'));
      this.pendingStart = undefined;
    }
    if (this.state === 'streaming') this.state = 'open';
  }

  async close(): Promise<void> {
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

  listControls(): NativeControl[] {
    return this.native.listControls();
  }

  getControl(name: string): number | bigint {
    try {
      return this.native.getControl(name);
    } catch (error) {
      throw toDeviceError(this.id, error);
    }
  }

  /** Sets a control by its snake_case name (buttons take no value). */
  setControl(name: string, value?: number | bigint | boolean): void {
    try {
      this.native.setControl(name, value);
    } catch (error) {
      throw toDeviceError(this.id, error);
    }
  }

  /** Frames delivered, dropped because JS fell behind (overflows), and buffers JS holds. */
  stats(): { delivered: number; overflows: number; requeueErrors: number; buffersHeld: number } {
    return this.native.stats();
  }

  private onNative(kind: string, payload: unknown): void {
    switch (kind) {
      case 'started': {
        const p = payload as NativeStartedPayload;
        this.state = 'streaming';
        this.warnings = p.warnings;
        const start = this.pendingStart;
        this.pendingStart = undefined;
        start?.resolve({
          startedAtNs: p.streamonStartNs,
          streamonEndNs: p.streamonEndNs,
          lateByNs: p.requestedNs > 0n ? Number(p.streamonStartNs - p.requestedNs) : undefined,
          warnings: p.warnings,
        });
        return;
      }
      case 'lost':
      case 'error': {
        const p = payload as NativeErrorPayload;
        const error = toDeviceError(this.id, p);
        if (kind === 'lost') this.state = 'lost';
        else if (this.state === 'streaming') this.state = 'open';
        const start = this.pendingStart;
        this.pendingStart = undefined;
        if (start) start.reject(error);
        this.events.emit(kind === 'lost' ? { type: 'lost', cameraId: this.id, error } : { type: 'error', cameraId: this.id, error });
        return;
      }
    }
  }

  private onFrameData(
    index: number,
    generation: number,
    sequence: number,
    bufferFlags: number,
    bytesused: number,
    timestampNs: bigint,
    dqNs: bigint,
    data: ArrayBuffer,
    copied: boolean,
  ): void {
    if (this.state !== 'streaming') {
      // Left in the queue by a session that has since stopped (the queue is FIFO, so a new
      // session's frames only come after its 'started'): stale, never handed out.
      if (!copied) this.native.release(index, generation);
      return;
    }
    let flags = bufferFlags & V4L2_BUF_FLAG_ERROR ? FrameFlags.ERROR : FrameFlags.NONE;
    if (this.lastSeq !== undefined && seqForwardDistance(this.lastSeq, sequence) > 1) flags |= FrameFlags.DROP_BEFORE;
    this.lastSeq = sequence;
    const frame: V4l2Frame = {
      cameraId: this.id,
      seq: sequence,
      deviceTimeNs: timestampNs,
      rigTimeNs: timestampNs,
      flags,
      timestampSource: timestampSourceOf(bufferFlags),
      arrivalNs: process.hrtime.bigint(),
      dqNs,
      bytesused,
      bufferIndex: index,
      data: new V4l2FrameData(this.native, this.id, sequence, index, generation, new Uint8Array(data), copied),
    };
    if (this.frames.size === 0) {
      frame.data!.release();
      return;
    }
    this.frames.emit(frame);
  }
}

/** What `startAll` achieved. */
export interface StartAllResult {
  readonly atNs: bigint;
  readonly results: ReadonlyMap<string, V4l2StartResult>;
  /** Spread of the STREAMON instants across cameras, ns. */
  readonly skewNs: number;
  /** Latest camera's lateness relative to atNs, ns. */
  readonly maxLateNs: number;
}

/**
 * Starts every camera at one instant: each capture thread is prepared (buffers
 * queued), sleeps until `atNs` (clock_nanosleep TIMER_ABSTIME, then a short spin) and
 * issues STREAMON. The seed's barrier real-time part. Default instant: now + leadNs.
 */
export async function startAll(cameras: readonly V4l2Camera[], options: { atNs?: bigint; leadNs?: number } = {}): Promise<StartAllResult> {
  const atNs = options.atNs ?? loadAddon().monotonicNow() + BigInt(options.leadNs ?? 50_000_000);
  const settled = await Promise.allSettled(cameras.map((c) => c.start({ atNs })));
  const failed = settled.flatMap((r, i) => (r.status === 'rejected' ? [{ camera: cameras[i]!, error: r.reason as Error }] : []));
  if (failed.length > 0) {
    // One camera failing leaves the rig unsynchronized: stop the others and say which failed.
    await Promise.allSettled(cameras.map((c) => c.stop()));
    throw new DeviceError(
      failed[0]!.error instanceof DeviceError ? failed[0]!.error.code : 'E_STREAMON',
      failed.map((f) => f.camera.id).join(', '),
      `synchronized start failed: ${failed.map((f) => f.error.message).join('; ')}`,
    );
  }
  const results = new Map<string, V4l2StartResult>();
  settled.forEach((r, i) => {
    results.set(cameras[i]!.id, (r as PromiseFulfilledResult<V4l2StartResult>).value);
  });
  const starts = [...results.values()].map((r) => r.startedAtNs);
  const min = starts.reduce((a, b) => (a < b ? a : b));
  const max = starts.reduce((a, b) => (a > b ? a : b));
  return { atNs, results, skewNs: Number(max - min), maxLateNs: Number(max - atNs) };
}

/**
 * A frame's pixels over the driver's buffer (zero-copy) or a copy. After release the driver
 * owns the buffer again: the ArrayBuffer is detached (views read as empty) and asking for
 * the bytes throws. A class, not a literal with closures: one allocation per frame.
 */
class V4l2FrameData implements FrameData {
  private released = false;

  constructor(
    private readonly native: NativeCameraHandle,
    private readonly cameraId: string,
    private readonly sequence: number,
    private readonly index: number,
    private readonly generation: number,
    private readonly view: Uint8Array,
    private readonly copied: boolean,
  ) {}

  get bytes(): Uint8Array {
    if (this.released) throw new StateError(`${this.cameraId}: frame ${this.sequence} was released; its buffer belongs to the driver again`);
    return this.view;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (!this.copied) this.native.release(this.index, this.generation);
  }
}

/** v4l2_buffer flags (videodev2.h) the frame path reads. */
const V4L2_BUF_FLAG_ERROR = 0x0000_0040;
const V4L2_BUF_FLAG_TSTAMP_SRC_MASK = 0x0007_0000;
const V4L2_BUF_FLAG_TSTAMP_SRC_SOE = 0x0001_0000;
const V4L2_BUF_FLAG_TSTAMP_SRC_EOF = 0x0000_0000;

function timestampSourceOf(flags: number): TimestampSource {
  switch (flags & V4L2_BUF_FLAG_TSTAMP_SRC_MASK) {
    case V4L2_BUF_FLAG_TSTAMP_SRC_SOE:
      return 'start-of-exposure';
    case V4L2_BUF_FLAG_TSTAMP_SRC_EOF:
      return 'end-of-frame';
    default:
      return 'unknown';
  }
}
