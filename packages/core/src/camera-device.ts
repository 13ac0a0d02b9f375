import type { DeviceError } from './errors.js';
import type { ExposureCorrection } from './exposure-time.js';
import type { Frame, TimestampSource } from './frame.js';
import type { Unsubscribe } from './listeners.js';
import type { DurationNs, InstantNs } from './time.js';

/** What a camera delivers once opened (drivers may adjust what was asked). */
export interface CameraInfo {
  readonly width: number;
  readonly height: number;
  /** FourCC such as "YUYV", or "SIM" for simulated cameras. */
  readonly pixelFormat: string;
  readonly fps: number;
  readonly timestampSource: TimestampSource;
  /** How this camera's frames are moved to mid-exposure (the correction and its rule), when known. */
  readonly exposure?: ExposureCorrection;
  /**
   * Driver buffers frames are delivered in, when frames are zero-copy views that
   * must be released for the driver to reuse them. Undefined when frames own their data.
   */
  readonly buffers?: number;
}

/** Options for a synchronized start. */
export interface StartOptions {
  /** Start streaming at this instant (device clock: monotonic). Omitted: as soon as possible. */
  readonly atNs?: InstantNs;
}

/** What a start achieved. */
export interface StartResult {
  /** The instant streaming actually started (device clock). */
  readonly startedAtNs: InstantNs;
  /** startedAtNs − atNs, when atNs was given. */
  readonly lateByNs?: DurationNs;
}

/** Non-frame events a camera reports. */
export type CameraEvent =
  | { readonly type: 'lost'; readonly cameraId: string; readonly error: DeviceError }
  | { readonly type: 'error'; readonly cameraId: string; readonly error: DeviceError }
  | { readonly type: 'reconnected'; readonly cameraId: string };

/**
 * A camera. Seed: `icamera_device` (initialize → open, start_capture → start,
 * stop_capture → stop, get_frame → onFrame / frames, get_camera_id → id).
 * Implemented by `SimCamera` (@syncap/sim) and `V4l2Camera` (@syncap/native-v4l2).
 */
export interface CameraDevice {
  readonly id: string;
  /** Set after `open()`. */
  readonly info: CameraInfo | undefined;
  open(): Promise<void>;
  start(options?: StartOptions): Promise<StartResult>;
  stop(): Promise<void>;
  close(): Promise<void>;
  /** Frames as they arrive. The listener owns the frame and must release its `data` eventually. */
  onFrame(listener: (frame: Frame) => void): Unsubscribe;
  onEvent(listener: (event: CameraEvent) => void): Unsubscribe;
  /**
   * Optional: lengthens (positive) or shortens each frame period by this much, ns —
   * sensors that expose blanking control can slew their phase this way without a
   * restart. Devices without it lock by restarting only.
   */
  setPeriodTrimNs?(trimNs: number): void;
}
