import { ErrorModelClock, lastAtOrBefore } from './host-clock.js';
import type { SeededRandom } from './seeded-random.js';

export interface SimClockOptions {
  /** Reading minus true time at true time 0, ns. Default 0. */
  readonly offsetNs?: number;
  /** Constant frequency error, ppm. Default 0. */
  readonly ppm?: number;
  /** Random-walk frequency noise: ppb added per √s (gaussian). Default 0. */
  readonly wanderPpbPerSqrtS?: number;
  /** Steps of the clock: at true time `atNs` its reading jumps by `stepNs`. */
  readonly steps?: ReadonlyArray<{ readonly atNs: bigint; readonly stepNs: number }>;
  /** Frequency is re-drawn every this many ns. Default 1 s. */
  readonly intervalNs?: number;
  /** True time the clock starts at (readings before it extrapolate its first segment). Default 0. */
  readonly originNs?: bigint;
}

interface Segment {
  readonly startNs: bigint;
  /** Reading − true at startNs, ns. */
  readonly offsetNs: number;
  /** d(reading − true)/dt over the segment (ppm × 1e-6, plus wander). */
  readonly rate: number;
}

/**
 * A free-running oscillator clock: offset, ppm error, random-walk wander and steps.
 * Piecewise linear in true time (segments generated on demand from its own random
 * stream), so readings are exact and reproducible.
 */
export class SimClock extends ErrorModelClock {
  private readonly segments: Segment[] = [];
  private readonly intervalNs: bigint;
  private readonly steps: Array<{ atNs: bigint; stepNs: number }>;

  constructor(
    private readonly random: SeededRandom,
    private readonly options: SimClockOptions = {},
  ) {
    super();
    this.intervalNs = BigInt(options.intervalNs ?? 1_000_000_000);
    this.steps = [...(options.steps ?? [])].sort((a, b) => (a.atNs < b.atNs ? -1 : 1));
    this.segments.push({ startNs: options.originNs ?? 0n, offsetNs: options.offsetNs ?? 0, rate: (options.ppm ?? 0) * 1e-6 });
  }

  /** Reading minus true time at `trueNs`, ns. */
  override errorAt(trueNs: bigint): number {
    const seg = this.segmentAt(trueNs);
    let error = seg.offsetNs + seg.rate * Number(trueNs - seg.startNs);
    for (const s of this.steps) if (s.atNs <= trueNs && s.atNs > seg.startNs) error += s.stepNs;
    return error;
  }

  private segmentAt(trueNs: bigint): Segment {
    while (this.segments[this.segments.length - 1]!.startNs + this.intervalNs <= trueNs) this.extend();
    return this.segments[lastAtOrBefore(this.segments, trueNs, (x) => x.startNs)]!;
  }

  private extend(): void {
    const last = this.segments[this.segments.length - 1]!;
    const startNs = last.startNs + this.intervalNs;
    let offsetNs = last.offsetNs + last.rate * Number(this.intervalNs);
    for (const s of this.steps) if (s.atNs > last.startNs && s.atNs <= startNs) offsetNs += s.stepNs;
    const wander = this.options.wanderPpbPerSqrtS ?? 0;
    const rate = last.rate + (wander > 0 ? this.random.normal() * wander * 1e-9 * Math.sqrt(Number(this.intervalNs) / 1e9) : 0);
    this.segments.push({ startNs, offsetNs, rate });
    // Bounded memory: keep about an hour of history for look-ups in the past.
    if (this.segments.length > 4096) this.segments.splice(0, 1024);
  }
}
