import type { NativeControl } from './native-binding.js';

/** Exposure-time controls with known units. V4L2_CID_EXPOSURE ("exposure") has driver-defined units (often lines) and is not used. */
const EXPOSURE_CONTROLS: ReadonlyArray<{ readonly name: string; readonly unitNs: number }> = [
  // V4L2_CID_EXPOSURE_ABSOLUTE, in 100 µs units; its label was "Exposure (Absolute)" before Linux 5.x.
  { name: 'exposure_time_absolute', unitNs: 100_000 },
  { name: 'exposure_absolute', unitNs: 100_000 },
];
/** V4L2_EXPOSURE_MANUAL in the auto_exposure menu: the only mode in which exposure stays put. */
const MANUAL_EXPOSURE = 1;

/** A device's exposure time as its controls tell it. */
export interface ExposureReading {
  /** Exposure time, ns; 0 when the device has no exposure control with known units. */
  readonly exposureNs: number;
  /** The control it came from. */
  readonly control?: string;
  /** Its unit, ns per step. */
  readonly unitNs?: number;
  /** Whether the device may change it by itself (auto exposure): then it is re-read as frames come. */
  readonly automatic: boolean;
}

/** Reads the exposure time from a device's control list (current values included). */
export function readExposure(controls: readonly NativeControl[]): ExposureReading {
  for (const known of EXPOSURE_CONTROLS) {
    const c = controls.find((x) => x.name === known.name);
    if (!c || c.value === undefined || typeof c.value === 'string') continue;
    const mode = controls.find((x) => x.name === 'auto_exposure')?.value;
    const automatic = c.flags.includes('volatile') || (mode !== undefined && Number(mode) !== MANUAL_EXPOSURE);
    return { exposureNs: Number(c.value) * known.unitNs, control: c.name, unitNs: known.unitNs, automatic };
  }
  return { exposureNs: 0, automatic: false };
}
