import { ConfigError } from './errors.js';
import { nextGridInstantNs, phaseOfNs, wrapPhaseNs } from './phase.js';
import { median } from './robust-stats.js';
import type { InstantNs } from './time.js';

export interface PhaseLockOptions {
  /** Frame period, ns (the grid is k·period in the rig timebase). */
  readonly periodNs: number;
  /** |phase error| under this is locked; over it (after lock) triggers a re-lock. Default 100 µs. */
  readonly toleranceNs?: number;
  /** Frames whose median phase is one measurement. Default 8. */
  readonly windowFrames?: number;
  /** Frames ignored after a (re)start while the stream settles. Default 2. */
  readonly settleFrames?: number;
  /** How far ahead of now a restart is scheduled, ns. Default 3 periods. */
  readonly leadNs?: number;
  /**
   * Continuous correction for devices that can trim their frame period (sensor
   * blanking): predictive per-frame steering of the period (see steer()). Omit
   * for restart-only locking (any V4L2 device).
   */
  readonly trim?: {
    /** Fraction of the predicted error removed per frame (1 = dead-beat; lower smooths timestamp jitter). Default 0.7. */
    readonly gain?: number;
    /** Frames whose natural period (in rig time) is averaged for the prediction. Default 2. */
    readonly periodFrames?: number;
    /** Largest period change, ns. Default 0.1 % of the period. */
    readonly maxTrimNs?: number;
    /** Errors that would take longer than this many frames to slew are restarted instead. Default 90. */
    readonly maxSlewFrames?: number;
  };
}

export type PhaseLockAction =
  | { readonly kind: 'restart'; readonly atNs: InstantNs; readonly phaseErrorNs: number }
  | { readonly kind: 'trim'; readonly periodTrimNs: number };

export type PhaseLockState = 'measuring' | 'locked';

/**
 * Phase lock to the rig's time grid (DESIGN §4.2), one per camera: after each start
 * it measures the median phase of the frames against k·T, and while the error is over
 * tolerance asks for a restart at a corrected grid instant — learning the device's
 * start latency from each attempt — until the error is within tolerance; it asks again
 * when drift pushes it out. With `trim` it also steers the frame period to hold the
 * phase at zero between restarts, which absorbs oscillator drift.
 */
export class PhaseLock {
  readonly periodNs: number;
  readonly toleranceNs: number;
  private readonly windowFrames: number;
  private readonly settleFrames: number;
  private readonly leadNs: number;
  private gridOffsetNs = 0;
  private phases: number[] = [];
  private sinceStart = 0;
  private requestedPhaseNs = 0;
  private latencyEstimates: number[] = [];
  private slewing = false;
  private lastRigNs: InstantNs | undefined;
  private naturalPeriods: number[] = [];
  /** Trims set at the previous two frames: [two frames ago, last frame]. */
  private trimHistory: number[] = [];
  private stateValue: PhaseLockState = 'measuring';
  /** Restarts asked for, and the last measured phase error (ns). */
  restarts = 0;
  lastPhaseErrorNs: number | undefined;

  constructor(private readonly options: PhaseLockOptions) {
    if (!(options.periodNs > 0)) throw new ConfigError(`periodNs must be > 0, got ${options.periodNs}`);
    this.periodNs = options.periodNs;
    this.toleranceNs = options.toleranceNs ?? 100_000;
    this.windowFrames = options.windowFrames ?? 8;
    this.settleFrames = options.settleFrames ?? 2;
    this.leadNs = options.leadNs ?? 3 * options.periodNs;
  }

  get state(): PhaseLockState {
    return this.stateValue;
  }

  /** Where the first start should be: the next grid instant after `nowRigNs` + lead, corrected for learned latency. */
  firstStart(nowRigNs: InstantNs): InstantNs {
    return this.plannedStart(nowRigNs, 0);
  }

  /** The device was (re)started, aiming at phase `requestedPhaseNs` off the grid. */
  started(requestedPhaseNs = this.requestedPhaseNs): void {
    this.requestedPhaseNs = requestedPhaseNs;
    this.phases = [];
    this.sinceStart = 0;
    this.slewing = false;
    this.lastRigNs = undefined;
    this.naturalPeriods = [];
    this.trimHistory = [];
    this.stateValue = 'measuring';
  }

  /** The timebase stepped: measure afresh (a restart follows if the phase is now off). */
  reset(): void {
    this.started(this.requestedPhaseNs);
  }

  /** Moves the grid by `offsetNs` (a server's shift-phase command); the next measurements re-lock to it. */
  shiftGrid(offsetNs: number): void {
    this.gridOffsetNs = wrapPhaseNs(this.gridOffsetNs + offsetNs, this.periodNs);
    this.phases = [];
  }

  /**
   * Feeds one frame's rig time; returns what the device should do, if anything.
   * `nowRigNs` is read only when a restart must be scheduled (not on every frame).
   */
  onFrame(rigTimeNs: InstantNs, nowRigNs: () => InstantNs): PhaseLockAction | undefined {
    this.sinceStart++;
    if (this.sinceStart <= this.settleFrames) return undefined;
    const phase = phaseOfNs(rigTimeNs, this.periodNs, this.gridOffsetNs);
    this.phases.push(phase);
    if (this.phases.length < this.windowFrames) {
      // Between judgements, a trimmable device is steered every frame (once the error is slewable).
      const trim = this.options.trim;
      return trim && this.slewing ? this.steer(rigTimeNs, trim, trim.maxTrimNs ?? this.periodNs * 0.001) : undefined;
    }
    const error = this.circularMedian(this.phases);
    this.phases = [];
    this.lastPhaseErrorNs = error;
    const trim = this.options.trim;
    const maxTrim = trim?.maxTrimNs ?? this.periodNs * 0.001;
    // Without trim only a restart moves the phase; with it, only errors too large to slew are restarted.
    const restartOver = trim ? Math.max(this.toleranceNs, maxTrim * (trim.maxSlewFrames ?? 90)) : this.toleranceNs;
    if (Math.abs(error) > restartOver) return this.restart(error, nowRigNs);
    this.stateValue = Math.abs(error) <= this.toleranceNs ? 'locked' : 'measuring';
    if (this.stateValue !== 'locked' && !trim) return this.restart(error, nowRigNs);
    if (!trim) return undefined;
    this.slewing = true;
    return this.steer(rigTimeNs, trim, maxTrim);
  }

  /**
   * Predictive period steering, per frame. A trim set now takes effect one frame later
   * (the next exposure is already scheduled), so: estimate the stream's natural period in
   * rig time from recent intervals (minus the trims that were in effect), predict where the
   * exposure after next lands, and trim so it lands on the grid. It follows the rig clock as
   * PTP steers it, and the camera's own oscillator error, without an integrator to lag.
   */
  private steer(rigTimeNs: InstantNs, trim: NonNullable<PhaseLockOptions['trim']>, maxTrim: number): PhaseLockAction | undefined {
    const last = this.lastRigNs;
    this.lastRigNs = rigTimeNs;
    const inEffect = this.trimHistory[0] ?? 0; // set two frames ago: shaped the interval that just ended
    if (last !== undefined) {
      const interval = Number(rigTimeNs - last);
      // A dropped frame (or a restart) breaks the interval: skip it rather than mislearn the period.
      if (Math.abs(interval - this.periodNs) < this.periodNs * 0.25) {
        this.naturalPeriods.push(interval - inEffect);
        if (this.naturalPeriods.length > (trim.periodFrames ?? 2)) this.naturalPeriods.shift();
      }
    }
    if (this.naturalPeriods.length === 0) return undefined;
    const period = this.naturalPeriods.reduce((a, b) => a + b, 0) / this.naturalPeriods.length;
    const pending = this.trimHistory[1] ?? 0; // set last frame: shapes the next interval
    // The trim that makes the period exactly T is applied in full; only the phase error is
    // damped by the gain (damping both would leave a steady offset proportional to the drift).
    const periodCorrection = this.periodNs - period;
    const predicted = rigTimeNs + BigInt(Math.round(period + pending));
    const error = phaseOfNs(predicted, this.periodNs, this.gridOffsetNs);
    const next = Math.max(-maxTrim, Math.min(maxTrim, periodCorrection - (trim.gain ?? 0.7) * error));
    this.trimHistory = [pending, next];
    return { kind: 'trim', periodTrimNs: next };
  }

  private restart(error: number, nowRigNs: () => InstantNs): PhaseLockAction {
    // What the device added to the phase we asked for is its start latency (mod T).
    this.latencyEstimates.push(wrapPhaseNs(error - this.requestedPhaseNs, this.periodNs));
    if (this.latencyEstimates.length > 8) this.latencyEstimates.shift();
    const latency = this.circularMedian(this.latencyEstimates);
    const requested = wrapPhaseNs(-latency, this.periodNs);
    this.restarts++;
    const atNs = this.plannedStart(nowRigNs(), requested);
    this.started(requested);
    return { kind: 'restart', atNs, phaseErrorNs: error };
  }

  private plannedStart(nowRigNs: InstantNs, phaseNs: number): InstantNs {
    const grid = nextGridInstantNs(nowRigNs + BigInt(Math.round(this.leadNs)), this.periodNs, this.gridOffsetNs);
    return grid + BigInt(Math.round(phaseNs));
  }

  private circularMedian(values: readonly number[]): number {
    // Unwrap around the first value so a cluster near ±T/2 is not split.
    const ref = values[0]!;
    return wrapPhaseNs(median(values.map((v) => ref + wrapPhaseNs(v - ref, this.periodNs))), this.periodNs);
  }
}
