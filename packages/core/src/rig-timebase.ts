import type { Frame } from './frame.js';
import type { InstantNs } from './time.js';

/**
 * The conversion between the devices' clock (CLOCK_MONOTONIC: V4L2 timestamps and start
 * instants) and the rig clock (what groups carry: PTP/realtime across hosts). The one
 * place where an instant changes timebase (DESIGN §2).
 */
export interface RigTimebase {
  /** The frame with `rigTimeNs` (and `arrivalNs`) in the rig timebase, from its device times. */
  mapFrame(frame: Frame): Frame;
  /** The device-clock instant at which the rig clock reads `rigNs` (to schedule a start). */
  toDeviceNs(rigNs: InstantNs): InstantNs;
}

/** The rig clock is the devices' clock (one host without a wall clock, simulations). */
export const IDENTITY_TIMEBASE: RigTimebase = {
  mapFrame: (frame) => frame,
  toDeviceNs: (rigNs) => rigNs,
};
