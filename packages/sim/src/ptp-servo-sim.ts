import { ErrorModelClock, lastAtOrBefore } from './host-clock.js';
import type { SeededRandom } from './seeded-random.js';
import type { SimClock } from './sim-clock.js';

/** linuxptp's PI servo constants at a 1 s sync interval. */
export const PTP_SERVO_GAINS = {
  software: { kp: 0.1, ki: 0.001 },
  hardware: { kp: 0.7, ki: 0.3 },
} as const;

export interface PtpServoSimOptions {
  /** The local oscillator the servo steers (its ppm and wander are what PTP removes). */
  readonly oscillator: SimClock;
  /** Measurement noise of each offset sample (timestamping, queueing), rms ns. */
  readonly noiseRmsNs: number;
  /** Path asymmetry (forward − backward delay), ns: a constant error of half of it. Default 0. */
  readonly asymmetryNs?: number;
  readonly timestamping?: 'software' | 'hardware';
  /** Default 1 s. */
  readonly syncIntervalNs?: number;
  /** The first correction steps the clock when the offset exceeds this, ns (linuxptp first_step_threshold). Default 20 µs. */
  readonly firstStepThresholdNs?: number;
  /**
   * After the first lock, a measured offset beyond this is stepped out instead of slewed,
   * ns (linuxptp step_threshold; 0 never steps). Default 0.
   */
  readonly stepThresholdNs?: number;
  /**
   * The largest frequency correction the clock accepts, ppb (linuxptp clamps its PI servo,
   * integrator included, to the clock's limit). Default 500 000 (adjtimex's 500 ppm).
   */
  readonly maxFrequencyPpb?: number;
  /** True time the servo starts at. Default 0. */
  readonly originNs?: bigint;
}

interface Knot {
  readonly atNs: bigint;
  /** Disciplined clock − true time at atNs, ns. */
  readonly errorNs: number;
  /** Its rate until the next knot (oscillator error + servo adjustment). */
  readonly rate: number;
}

/**
 * A PTP-disciplined clock (the rig clock of one host): the oscillator's error as
 * corrected by a linuxptp-like PI servo from noisy offset measurements every sync
 * interval. What is left — the residual — is what a perfect phase lock cannot remove.
 */
export class PtpServoSim extends ErrorModelClock {
  private readonly knots: Knot[] = [];
  private readonly intervalNs: bigint;
  private readonly kp: number;
  private readonly ki: number;
  private readonly maxPpb: number;
  private drift = 0;
  private freqAdj = 0;
  private samples = 0;
  private firstMeasured = 0;
  private pendingStepNs = 0;
  private holdoverUntilNs = -1n;
  /** Steps of the disciplined clock so far: injected, and the servo's own corrections. */
  readonly steps: Array<{ readonly atNs: bigint; readonly stepNs: number; readonly by: 'fault' | 'servo' }> = [];

  constructor(
    private readonly random: SeededRandom,
    private readonly options: PtpServoSimOptions,
  ) {
    super();
    this.intervalNs = BigInt(options.syncIntervalNs ?? 1_000_000_000);
    const gains = PTP_SERVO_GAINS[options.timestamping ?? 'hardware'];
    this.kp = gains.kp;
    this.ki = gains.ki;
    this.maxPpb = options.maxFrequencyPpb ?? 500_000;
    const origin = options.originNs ?? 0n;
    const e0 = options.oscillator.errorAt(origin);
    this.knots.push({ atNs: origin, errorNs: e0, rate: this.oscRate(origin) });
  }

  /** Disciplined clock − true time at `trueNs` (the PTP residual), ns. */
  residualAt(trueNs: bigint): number {
    while (this.knots[this.knots.length - 1]!.atNs + this.intervalNs <= trueNs) this.step();
    const k = this.knots[lastAtOrBefore(this.knots, trueNs, (x) => x.atNs)]!;
    return k.errorNs + k.rate * Number(trueNs - k.atNs);
  }

  override errorAt(trueNs: bigint): number {
    return this.residualAt(trueNs);
  }

  /**
   * Steps the disciplined clock by `stepNs` at its next update not yet computed (someone
   * ran `date -s`, or a rogue time daemon): the servo then sees the offset and corrects it,
   * by a step beyond `stepThresholdNs`, else by slewing.
   */
  stepBy(stepNs: number): void {
    this.pendingStepNs += stepNs;
  }

  /**
   * No PTP messages until true time `untilNs` (master gone, link down): the clock holds
   * the frequency correction it had (holdover) and the servo resumes after.
   */
  holdoverUntil(untilNs: bigint): void {
    if (untilNs > this.holdoverUntilNs) this.holdoverUntilNs = untilNs;
  }

  /** Whether the servo is receiving PTP at `trueNs` (false in holdover). */
  inHoldover(trueNs: bigint): boolean {
    return trueNs < this.holdoverUntilNs;
  }

  private oscRate(atNs: bigint): number {
    const dt = 1_000_000n;
    return (this.options.oscillator.errorAt(atNs + dt) - this.options.oscillator.errorAt(atNs)) / Number(dt);
  }

  private step(): void {
    const last = this.knots[this.knots.length - 1]!;
    const atNs = last.atNs + this.intervalNs;
    let errorNs = last.errorNs + last.rate * Number(this.intervalNs);
    if (this.pendingStepNs !== 0) {
      errorNs += this.pendingStepNs;
      this.steps.push({ atNs, stepNs: this.pendingStepNs, by: 'fault' });
      this.pendingStepNs = 0;
    }
    // The measured offset: the true error, half the path asymmetry, and timestamp noise.
    const measured = errorNs + (this.options.asymmetryNs ?? 0) / 2 + this.random.normal() * this.options.noiseRmsNs;
    const intervalS = Number(this.intervalNs) / 1e9;
    if (atNs < this.holdoverUntilNs && this.samples >= 2) {
      // Holdover: no measurement, the last frequency correction stays.
      this.pushKnot(atNs, errorNs);
      return;
    }
    this.samples++;
    const stepThreshold = this.options.stepThresholdNs ?? 0;
    if (this.samples > 2 && stepThreshold > 0 && Math.abs(measured) > stepThreshold) {
      // linuxptp: beyond step_threshold the clock is stepped and the servo's integrator kept.
      errorNs -= measured;
      this.steps.push({ atNs, stepNs: -measured, by: 'servo' });
      this.pushKnot(atNs, errorNs);
      return;
    }
    if (this.samples === 1) {
      this.firstMeasured = measured;
    } else if (this.samples === 2) {
      // Frequency from two samples, then a step if far off (linuxptp pi servo state 1 → 2).
      this.drift = clamp((measured - this.firstMeasured) / intervalS, this.maxPpb);
      this.freqAdj = -this.drift;
      if (Math.abs(measured) > (this.options.firstStepThresholdNs ?? 20_000)) {
        errorNs -= measured;
        this.steps.push({ atNs, stepNs: -measured, by: 'servo' });
      }
    } else {
      this.drift = clamp(this.drift + this.ki * measured, this.maxPpb);
      this.freqAdj = clamp(-(this.kp * measured + this.drift), this.maxPpb);
    }
    this.pushKnot(atNs, errorNs);
  }

  private pushKnot(atNs: bigint, errorNs: number): void {
    // freqAdj is ns/s (ppb): the disciplined clock's rate is the oscillator's plus the correction.
    const rate = this.oscRate(atNs) + (this.samples >= 2 ? this.freqAdj * 1e-9 : 0);
    this.knots.push({ atNs, errorNs, rate });
    if (this.knots.length > 4096) this.knots.splice(0, 1024);
    if (this.steps.length > 1024) this.steps.splice(0, 512);
  }
}

function clamp(x: number, limit: number): number {
  return Math.max(-limit, Math.min(limit, x));
}
