import type { TimestampSource } from './frame.js';

/**
 * What a camera's timestamp means and how long its exposure lasts: the inputs of the
 * mid-exposure correction (DESIGN §2). Exposure comes from the device's exposure control
 * where it has one; readout time and calibration offset from the camera's config.
 */
export interface ExposureTiming {
  /** Which instant the device stamps (V4L2 buffer flags). */
  readonly timestampSource: TimestampSource;
  /** Exposure time, ns (0 when unknown). */
  readonly exposureNs?: number;
  /** Time to read the sensor out from first row to last (rolling shutter), ns. Default 0. */
  readonly readoutNs?: number;
  /** Calibrated constant added last (measured against a reference camera), ns. Default 0. */
  readonly offsetNs?: number;
}

/** How a frame's device timestamp was moved to the middle of its exposure. */
export interface ExposureCorrection {
  /** Mid-exposure minus the device timestamp, ns. */
  readonly correctionNs: number;
  /** Which rule was applied: the timestamp source it was read from, or none known. */
  readonly rule: 'start-of-exposure' | 'end-of-frame' | 'offset-only';
}

/**
 * The correction that takes a device timestamp to the middle of the exposure of the
 * frame's middle row: from the start of exposure, + exposure/2 + readout/2; from the end
 * of frame (last row read out), − readout/2 − exposure/2; with an unknown source only the
 * calibration offset is applied. The offset is added in every case.
 */
export function midExposureCorrection(timing: ExposureTiming): ExposureCorrection {
  const exposure = timing.exposureNs ?? 0;
  const readout = timing.readoutNs ?? 0;
  const offset = timing.offsetNs ?? 0;
  switch (timing.timestampSource) {
    case 'start-of-exposure':
      return { correctionNs: exposure / 2 + readout / 2 + offset, rule: 'start-of-exposure' };
    case 'end-of-frame':
      return { correctionNs: -(exposure / 2) - readout / 2 + offset, rule: 'end-of-frame' };
    default:
      return { correctionNs: offset, rule: 'offset-only' };
  }
}
