import type { ErrorCode } from '@syncap/core';

/**
 * The native surface, declared once: what the C++ addon exports (native/addon.cc) and what
 * `MockV4l2Binding` implements. `V4l2Camera` and the device functions only ever talk to a
 * `NativeBinding`, so the compiler checks that the addon loader, the mock and their callers
 * agree.
 */

/** The codes the addon raises (a subset of core's ERROR_CODES; native/errors.h lists the same). */
export type NativeErrorCode = Extract<
  ErrorCode,
  | 'E_NO_DEVICE'
  | 'E_DEVICE_LOST'
  | 'E_DEVICE_BUSY'
  | 'E_PERMISSION'
  | 'E_NOT_CAPTURE'
  | 'E_UNSUPPORTED_FORMAT'
  | 'E_BUFFERS'
  | 'E_STREAMON'
  | 'E_STREAM'
  | 'E_CONTROL'
  | 'E_DEVICE'
  | 'E_UNSUPPORTED'
  | 'E_STATE'
  | 'E_CONFIG'
>;

/** What the addon throws: an Error with a code and, when a system call failed, its errno name. */
export interface NativeError extends Error {
  readonly code: NativeErrorCode;
  /** "ENOENT", "EBUSY", … */
  readonly errno?: string;
}

export interface NativeDeviceSummary {
  readonly path: string;
  readonly card?: string;
  readonly driver?: string;
  readonly bus?: string;
  readonly capabilities?: string;
  readonly canCapture?: boolean;
  /** Set when the node exists but could not be opened. */
  readonly error?: string;
}

/** One frame size of a format: discrete (width, height) or stepwise (min/max/step). */
export interface NativeFrameSize {
  readonly width?: number;
  readonly height?: number;
  readonly minWidth?: number;
  readonly maxWidth?: number;
  readonly stepWidth?: number;
  readonly minHeight?: number;
  readonly maxHeight?: number;
  readonly stepHeight?: number;
  /** Frame rates offered at this size (stepwise: the fastest and the slowest). */
  readonly fps: readonly number[];
}

export interface NativeFormat {
  /** FourCC as the device reports it ("YUYV", "MJPG", "H264"). */
  readonly pixelFormat: string;
  readonly description: string;
  /** A compressed format (MJPG, H264, …): frames are handed on as they come, never decoded. */
  readonly compressed: boolean;
  readonly sizes: readonly NativeFrameSize[];
}

export type NativeControlType = 'integer' | 'boolean' | 'menu' | 'integer-menu' | 'button' | 'integer64' | 'string' | 'bitmask' | 'other';

/** One control, as `v4l2-ctl --list-ctrls-menus` shows it. */
export interface NativeControl {
  /** snake_case of the label: "Exposure Time, Absolute" → "exposure_time_absolute". */
  readonly name: string;
  readonly label: string;
  readonly id: number;
  readonly type: NativeControlType;
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly default: number;
  /** The current value (absent for buttons and write-only controls). */
  readonly value?: number | bigint | string;
  /** "read-only", "write-only", "inactive", "volatile", "grabbed", "update". */
  readonly flags: readonly string[];
  /** Menu items by index: labels (menu) or values (integer-menu). */
  readonly menu?: Readonly<Record<string, string | number>>;
}

export interface NativeDeviceDescription extends NativeDeviceSummary {
  readonly formats: readonly NativeFormat[];
  readonly controls: readonly NativeControl[];
  readonly current?: { readonly width: number; readonly height: number; readonly pixelFormat: string; readonly fps?: number };
}

export interface NativeOpenOptions {
  readonly width?: number;
  readonly height?: number;
  /** FourCC exactly as the device lists it. */
  readonly pixelFormat?: string;
  readonly fps?: number;
  readonly buffers?: number;
  readonly copy?: boolean;
  /** Controls set after the format and rate and before buffers are allocated (some drivers refuse changes once they have buffers). */
  readonly controls?: ReadonlyArray<readonly [name: string, value: number | bigint | string | undefined]>;
}

export interface NativeOpenResult {
  readonly width: number;
  readonly height: number;
  readonly pixelFormat: string;
  readonly compressed: boolean;
  readonly bytesPerLine: number;
  /** The largest frame in bytes (compressed frames use `bytesused` of it). */
  readonly sizeImage: number;
  readonly fps: number;
  readonly buffers: number;
  readonly timestampSource: 'start-of-exposure' | 'end-of-frame' | 'unknown';
  readonly card: string;
  readonly driver: string;
  readonly bus: string;
}

export interface NativeStartOptions {
  /** SCHED_FIFO priority of the capture thread. */
  readonly priority?: number;
  /** CPU to pin the capture thread to. */
  readonly cpu?: number;
  readonly spinNs?: number;
  /** Frames waiting for JS at most (thread delivery). */
  readonly maxQueue?: number;
  /** Event-loop delivery: after STREAMON the JS thread's poller dequeues. */
  readonly eventLoop?: boolean;
  /** Event-loop delivery's coalescing (V4l2CameraOptions.coalesceMs): ms, 0 off, −1 adaptive. */
  readonly coalesceMs?: number;
  /** Adaptive coalescing's tick, ms (the frame period); 0: this camera is not coalesced. */
  readonly autoCoalesceMs?: number;
}

export interface NativeCameraStats {
  /** Buffers dequeued. */
  readonly delivered: number;
  /** Frames dropped in the capture thread because JS fell behind (thread delivery). */
  readonly overflows: number;
  readonly requeueErrors: number;
  /** Buffers JS holds (or that are on their way to it). */
  readonly buffersHeld: number;
}

/**
 * One dequeued buffer — the hot path, hence positional arguments. `data` views the driver's
 * buffer (zero-copy: valid until `release(index, generation)`, then detached) or is a copy.
 * `flags` are the v4l2_buffer flags (error, timestamp source). `dqNs` is when DQBUF returned,
 * `arrivalNs` when the addon called this (both CLOCK_MONOTONIC).
 */
export type NativeFrameCallback = (
  index: number,
  generation: number,
  sequence: number,
  flags: number,
  bytesused: number,
  timestampNs: bigint,
  dqNs: bigint,
  arrivalNs: bigint,
  data: Uint8Array,
  copied: boolean,
) => void;

export interface NativeStartedEvent {
  readonly kind: 'started';
  readonly requestedNs: bigint;
  readonly streamonStartNs: bigint;
  readonly streamonEndNs: bigint;
  /** Priority or affinity that could not be applied. */
  readonly warnings: readonly string[];
}

export interface NativeFailureEvent {
  /** 'lost': the device is gone (code E_DEVICE_LOST); 'error': streaming broke (E_STREAMON, E_STREAM). */
  readonly kind: 'lost' | 'error';
  readonly code: NativeErrorCode;
  readonly errno?: string;
  readonly message: string;
}

export type NativeCameraEvent = NativeStartedEvent | NativeFailureEvent;

/** Everything but frames. */
export type NativeEventCallback = (event: NativeCameraEvent) => void;

/** One camera on the native side (the C++ NativeCamera class). Methods throw NativeError. */
export interface NativeCameraHandle {
  open(path: string, options: NativeOpenOptions): NativeOpenResult;
  /** Prepares and, at `atNs` (CLOCK_MONOTONIC; 0n: now), issues STREAMON; 'started' or 'error'/'lost' follows. */
  start(atNs: bigint, options: NativeStartOptions): void;
  stop(): void;
  close(): void;
  /** Gives a zero-copy buffer back to the driver (stale or repeated calls do nothing). */
  release(index: number, generation: number): void;
  listControls(): NativeControl[];
  getControl(name: string): number | bigint | string;
  setControl(name: string, value?: number | bigint | boolean | string): void;
  stats(): NativeCameraStats;
}

/** A bracketed reading of the wall clocks against CLOCK_MONOTONIC. */
export interface NativeClockSample {
  readonly monotonicNs: bigint;
  readonly realtimeOffsetNs: bigint;
  readonly realtimeUncertaintyNs: number;
  readonly taiOffsetNs: bigint;
  readonly taiUncertaintyNs: number;
}

/** The whole native surface. The real one is `loadBinding()`; tests pass a `MockV4l2Binding`. */
export interface NativeBinding {
  listDevices(): NativeDeviceSummary[];
  describe(path: string): NativeDeviceDescription;
  /** Controls of a device that need not be opened for capture (the CLI). */
  listControls(path: string): NativeControl[];
  setControl(path: string, name: string, value?: number | bigint | boolean | string): void;
  /** The node a path leads to now (symlinks resolved: /dev/v4l/by-id/… → /dev/video3), or undefined when it does not exist. */
  resolvePath(path: string): string | undefined;
  /** Every alias of a node (/dev/v4l/by-id/…, /dev/v4l/by-path/…), by the node it resolves to. */
  listAliases(): ReadonlyMap<string, readonly string[]>;
  sampleClocks(rounds: number): NativeClockSample;
  monotonicNow(): bigint;
  /** Whether event-loop delivery is available (the addon was built with libuv's header). */
  readonly eventLoopDelivery: boolean;
  /**
   * A camera handle. The caller keeps both callbacks alive for as long as it wants events: the
   * addon holds them weakly except while streaming, so an unused camera can be collected.
   */
  createCamera(onFrame: NativeFrameCallback, onEvent: NativeEventCallback): NativeCameraHandle;
}

/** What the compiled addon exports; `loadBinding()` adds path resolution in TypeScript. */
export interface NativeAddonExports {
  listDevices(): NativeDeviceSummary[];
  describe(path: string): NativeDeviceDescription;
  listControls(path: string): NativeControl[];
  setControl(path: string, name: string, value?: number | bigint | boolean | string): void;
  sampleClocks(rounds: number): NativeClockSample;
  monotonicNow(): bigint;
  readonly eventLoopDelivery: boolean;
  readonly NativeCamera: new (onFrame: NativeFrameCallback, onEvent: NativeEventCallback) => NativeCameraHandle;
}
