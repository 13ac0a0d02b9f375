import { ConfigError } from '@syncap/core';

/**
 * One description of a simulated rig, shared by every command that builds one
 * (`syncap-node sim`, `join --simulate`, `soak`, `syncap-server demo`) and by the
 * benches and tests: hosts, cameras and what their clocks, sensors and links do.
 */
export interface RigSpec {
  /** Hosts (nodes). */
  readonly hosts: number;
  /** Cameras per host. */
  readonly cameras: number;
  /** Frame rate of every camera. */
  readonly fps: number;
  /** One seed determines the run. */
  readonly seed: number;
  /** Oscillator errors (host clocks and camera sensors) drawn within ± this, ppm. */
  readonly ppm: number;
  /** PTP offset measurement noise, rms ns. */
  readonly ptpNoiseNs: number;
  /** PTP timestamping (selects linuxptp's servo gains). */
  readonly timestamping: 'software' | 'hardware';
  /** Camera timestamp jitter, gaussian sd, ns. */
  readonly jitterNs: number;
  /** Probability that a frame is lost. */
  readonly dropRate: number;
  /** Sync-channel packet loss (each loss costs a TCP retransmission). */
  readonly netLoss: number;
  /** Lock camera phase to the rig's time grid. */
  readonly phaseLock: boolean;
  /** Phase-lock tolerance, ns. */
  readonly phaseToleranceNs: number;
  /** Start latency after a requested start: mean and uniform ± jitter, ns. */
  readonly startLatencyNs: number;
  readonly startLatencyJitterNs: number;
  /**
   * Cameras differ in exposure (0.1–20 ms), rolling-shutter readout (0–30 ms) and timestamp
   * source (start of exposure or end of frame), drawn from the seed: groups must line up by
   * mid-exposure. Default false (1 ms exposures stamped at their start).
   */
  readonly mixedExposure: boolean;
  /** Real pixels for every camera (a moving test pattern; MJPG is JPEG-encoded); absent: timing only. */
  readonly pixels?: RigPixels;
}

/** The images simulated cameras give (see SimCamera's `pixels`). */
export interface RigPixels {
  readonly width: number;
  readonly height: number;
  readonly pixelFormat: 'YUYV' | 'GREY' | 'MJPG';
}

/** Parses `WxH:FOURCC` (FourCC YUYV, GREY or MJPG, any case), as `--pixels` takes it. */
export function parseRigPixels(text: string): RigPixels {
  const m = /^(\d+)x(\d+):([A-Za-z]{4})$/.exec(text);
  const format = m?.[3]?.toUpperCase();
  if (!m || (format !== 'YUYV' && format !== 'GREY' && format !== 'MJPG')) {
    throw new ConfigError(`--pixels "${text.slice(0, 40)}" is not WxH:YUYV|GREY|MJPG (e.g. 320x180:YUYV)`);
  }
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width < 2 || height < 2 || width % 2 !== 0 || width > 8192 || height > 8192) throw new ConfigError(`--pixels "${text}": 2x2 to 8192x8192, even width`);
  return { width, height, pixelFormat: format };
}

/** The defaults, the same for every command (one place; `--help` shows them). */
export const RIG_DEFAULTS: RigSpec = {
  hosts: 3,
  cameras: 2,
  fps: 30,
  seed: 1,
  ppm: 20,
  ptpNoiseNs: 1000,
  timestamping: 'hardware',
  jitterNs: 0,
  dropRate: 0,
  netLoss: 0,
  phaseLock: true,
  phaseToleranceNs: 100_000,
  startLatencyNs: 3_000_000,
  startLatencyJitterNs: 1_000_000,
  mixedExposure: false,
};

/** A full spec from the defaults and what was given. */
export function rigSpec(given: Partial<RigSpec> = {}): RigSpec {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<RigSpec>;
  return { ...RIG_DEFAULTS, ...defined };
}
