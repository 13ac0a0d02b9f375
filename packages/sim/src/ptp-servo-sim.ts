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
  private drift = 0;
  private freqAdj = 0;
  private samples = 0;
  private firstMeasured = 0;

  constructor(
    private readonly random: SeededRandom,
    private readonly options: PtpServoSimOptions,
  ) {
    super();
    this.intervalNs = BigInt(options.syncIntervalNs ?? 1_000_000_000);
    const gains = PTP_SERVO_GAINS[options.timestamping ?? 'hardware'];
    this.kp = gains.kp;
    this.ki = gains.ki;
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

  private oscRate(atNs: bigint): number {
    const dt = 1_000_000n;
    return (this.options.oscillator.errorAt(atNs + dt) - this.options.oscillator.errorAt(atNs)) / Number(dt);
  }

  private step(): void {
    const last = this.knots[this.knots.length - 1]!;
    const atNs = last.atNs + this.intervalNs;
    let errorNs = last.errorNs + last.rate * Number(this.intervalNs);
    // The measured offset: the true error, half the path asymmetry, and timestamp noise.
    const measured = errorNs + (this.options.asymmetryNs ?? 0) / 2 + this.random.normal() * this.options.noiseRmsNs;
    const intervalS = Number(this.intervalNs) / 1e9;
    this.samples++;
    if (this.samples === 1) {
      this.firstMeasured = measured;
    } else if (this.samples === 2) {
      // Frequency from two samples, then a step if far off (linuxptp pi servo state 1 → 2).
      this.drift = (measured - this.firstMeasured) / intervalS;
      this.freqAdj = -this.drift;
      if (Math.abs(measured) > (this.options.firstStepThresholdNs ?? 20_000)) errorNs -= measured;
    } else {
      this.drift += this.ki * measured;
      this.freqAdj = -(this.kp * measured + this.drift);
    }
    // freqAdj is ns/s (ppb): the disciplined clock's rate is the oscillator's plus the correction.
    const rate = this.oscRate(atNs) + (this.samples >= 2 ? this.freqAdj * 1e-9 : 0);
    this.knots.push({ atNs, errorNs, rate });
    if (this.knots.length > 4096) this.knots.splice(0, 1024);
  }
}
