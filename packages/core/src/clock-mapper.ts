import type { Frame } from './frame.js';
import type { RigTimebase } from './rig-timebase.js';
import { linearRegression } from './robust-stats.js';
import type { DurationNs, InstantNs } from './time.js';

/** One bracketed reading: rig − monotonic at a monotonic instant, with its half-width. */
export interface ClockSample {
  readonly monotonicNs: InstantNs;
  /** Rig time minus monotonic time at that instant, ns. */
  readonly offsetNs: bigint;
  readonly uncertaintyNs: DurationNs;
}

export interface ClockMapperOptions {
  /** Samples the fit uses. Default 4: the rig clock is being steered, so only recent samples describe it. */
  readonly window?: number;
  /** A sample this far (ns) from the prediction, and beyond 10× its uncertainty, is a clock step. Default 50 µs. */
  readonly stepThresholdNs?: number;
}

/**
 * Maps monotonic (V4L2 timestamp) instants to the rig timebase (DESIGN §2). The
 * offset rig − monotonic is fitted as a line over recent bracketed samples (the two
 * clocks run at slightly different rates while PTP steers one of them); a sample far
 * off the line is a step (the rig clock was stepped) and restarts the fit. Each mapped
 * instant carries an uncertainty: the sample bracket plus the fit's scatter.
 */
export class ClockMapper implements RigTimebase {
  private samples: ClockSample[] = [];
  private fit: { slope: number; intercept: number; scatterNs: number } | undefined;
  private readonly window: number;
  private readonly stepThresholdNs: number;
  /** Steps detected so far. */
  steps = 0;

  constructor(options: ClockMapperOptions = {}) {
    this.window = options.window ?? 4;
    this.stepThresholdNs = options.stepThresholdNs ?? 50_000;
  }

  get ready(): boolean {
    return this.samples.length > 0;
  }

  /** Adds a sample; reports whether it was a step. */
  addSample(sample: ClockSample): { step: boolean } {
    let step = false;
    if (this.samples.length > 0) {
      const predicted = this.offsetAt(sample.monotonicNs);
      const deviation = Math.abs(Number(sample.offsetNs - predicted.offsetNs));
      if (deviation > this.stepThresholdNs && deviation > 10 * (sample.uncertaintyNs + predicted.uncertaintyNs)) {
        step = true;
        this.steps++;
        this.samples = [];
      }
    }
    this.samples.push(sample);
    if (this.samples.length > this.window) this.samples.shift();
    this.refit();
    return { step };
  }

  /** rig − monotonic at `monotonicNs`, with its uncertainty. Throws before the first sample. */
  offsetAt(monotonicNs: InstantNs): { offsetNs: bigint; uncertaintyNs: number } {
    const last = this.samples[this.samples.length - 1];
    if (!last) throw new RangeError('ClockMapper has no samples yet');
    if (!this.fit) return { offsetNs: last.offsetNs, uncertaintyNs: last.uncertaintyNs };
    const dx = Number(monotonicNs - last.monotonicNs);
    const dy = this.fit.intercept + this.fit.slope * dx;
    return { offsetNs: last.offsetNs + BigInt(Math.round(dy)), uncertaintyNs: last.uncertaintyNs + this.fit.scatterNs };
  }

  toRig(monotonicNs: InstantNs): { rigNs: InstantNs; uncertaintyNs: number } {
    const o = this.offsetAt(monotonicNs);
    return { rigNs: monotonicNs + o.offsetNs, uncertaintyNs: o.uncertaintyNs };
  }

  /** The monotonic instant at which the rig clock reads `rigNs` (for scheduling starts). */
  toMonotonic(rigNs: InstantNs): InstantNs {
    // Fixed-point iteration: each step shrinks the error by the rate difference (ppm), so
    // three steps are exact to the ns even with offsets of seconds.
    let m = rigNs - this.offsetAt(rigNs).offsetNs;
    for (let i = 0; i < 2; i++) m = rigNs - this.offsetAt(m).offsetNs;
    return m;
  }

  /** RigTimebase: the device instant at which the rig clock reads `rigNs`. */
  toDeviceNs(rigNs: InstantNs): InstantNs {
    return this.toMonotonic(rigNs);
  }

  /**
   * The frame with `rigTimeNs` (mid-exposure, with its uncertainty) and `arrivalNs` in the
   * rig timebase, from its monotonic device times.
   */
  mapFrame(frame: Frame): Frame {
    const { offsetNs, uncertaintyNs } = this.offsetAt(frame.deviceTimeNs);
    const correction = frame.exposureCorrectionNs ? BigInt(Math.round(frame.exposureCorrectionNs)) : 0n;
    const rigTimeNs = frame.deviceTimeNs + correction + offsetNs;
    return frame.arrivalNs === undefined
      ? { ...frame, rigTimeNs, uncertaintyNs }
      : { ...frame, rigTimeNs, uncertaintyNs, arrivalNs: frame.arrivalNs + offsetNs };
  }

  private refit(): void {
    const last = this.samples[this.samples.length - 1]!;
    if (this.samples.length < 3) {
      this.fit = undefined;
      return;
    }
    const xs = this.samples.map((s) => Number(s.monotonicNs - last.monotonicNs));
    const ys = this.samples.map((s) => Number(s.offsetNs - last.offsetNs));
    const line = linearRegression(xs, ys);
    if (!line) {
      this.fit = undefined;
      return;
    }
    let sq = 0;
    for (let i = 0; i < xs.length; i++) sq += (ys[i]! - (line.intercept + line.slope * xs[i]!)) ** 2;
    this.fit = { slope: line.slope, intercept: line.intercept, scatterNs: Math.sqrt(sq / xs.length) };
  }
}
