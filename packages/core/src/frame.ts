import type { DurationNs, InstantNs } from './time.js';

/** Bit flags on a frame. */
export const FrameFlags = {
  NONE: 0,
  /** The driver marked the buffer as erroneous (V4L2_BUF_FLAG_ERROR); data may be corrupt. */
  ERROR: 1,
  /** One or more frames were lost just before this one (sequence gap). */
  DROP_BEFORE: 2,
} as const;

/** Where in the exposure the device's timestamp was taken. */
export type TimestampSource = 'start-of-exposure' | 'end-of-frame' | 'unknown';

/**
 * Pixel data attached to a frame. It may be a zero-copy view over a driver buffer:
 * call `release()` when done so the buffer can be reused; after release the bytes
 * must not be read (native buffers are detached and reads throw).
 */
export interface FrameData {
  readonly bytes: Uint8Array;
  release(): void;
}

/**
 * One captured frame. Seed: `buffer` (data, timestamp, sequence).
 *
 * - `deviceTimeNs`: the device's raw timestamp (V4L2: CLOCK_MONOTONIC); `timestampSource` says which instant.
 * - `rigTimeNs`: the middle of the exposure in the rig timebase; policies group on this. A device
 *   emits it in its own clock (deviceTimeNs + exposureCorrectionNs); a `RigTimebase` maps it.
 * - `seq`: the driver's sequence number (u32, wraps); a gap is a drop.
 */
export interface Frame {
  readonly cameraId: string;
  readonly seq: number;
  readonly deviceTimeNs: InstantNs;
  readonly rigTimeNs: InstantNs;
  readonly flags: number;
  readonly timestampSource?: TimestampSource;
  /** Mid-exposure minus `deviceTimeNs`, ns: the correction in `rigTimeNs` (see midExposureCorrection). Default 0. */
  readonly exposureCorrectionNs?: number;
  /** Uncertainty of `rigTimeNs` (half-width of the clock-mapping bracket), ns. */
  readonly uncertaintyNs?: DurationNs;
  /** When the frame reached the process (same timebase as `rigTimeNs`), if known. */
  readonly arrivalNs?: InstantNs;
  /** Simulation only: the true exposure instant, for measuring real skew. */
  readonly truthNs?: InstantNs;
  readonly data?: FrameData;
}

/** A frame carrying only timing (traces, reports, tests): device time = rig time. */
export function timingFrame(cameraId: string, seq: number, rigTimeNs: InstantNs, extra: Partial<Omit<Frame, 'cameraId' | 'seq' | 'rigTimeNs'>> = {}): Frame {
  return { cameraId, seq, deviceTimeNs: rigTimeNs, rigTimeNs, flags: FrameFlags.NONE, ...extra };
}
