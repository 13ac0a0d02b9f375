/**
 * A second, deliberately plain model of ROS 1/ROS 2 message_filters ApproximateTime
 * (approximate_time.h), written from its description for differential tests: bigint
 * times, arrays, counts recomputed instead of tracked. Not used by syncap itself.
 */

export interface ReferenceFrame {
  readonly camera: number;
  readonly t: bigint;
  /** Anything that identifies the frame in the output (its index in the input). */
  readonly id: number;
}

export interface ReferenceOptions {
  readonly cameras: number;
  readonly queueSize: number;
  readonly agePenalty: number;
  readonly maxIntervalNs?: bigint;
  readonly lowerBoundNs?: readonly bigint[];
}

export interface ReferenceGroup {
  /** Index (among the frames added) of the frame whose arrival published the group. */
  readonly at: number;
  /** Member ids in camera order. */
  readonly members: number[];
}

const NS = 1_000_000_000n;

/** boost::math::round: half away from zero. */
function roundHalfAway(v: number): number {
  if (v > -0.5 && v < 0.5) return 0;
  if (v > 0) {
    const c = Math.ceil(v);
    return c - v > 0.5 ? c - 1 : c;
  }
  const f = Math.floor(v);
  return v - f > 0.5 ? f + 1 : f;
}

/** ros::Duration(d) * scale: via toSec() (sec + 1e-9·nsec, nsec normalised to [0, 1e9)) and fromSec(). */
export function rosDurationTimes(d: bigint, scale: number): bigint {
  let sec = d / NS;
  let nsec = d % NS;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += NS;
  }
  const seconds = (Number(sec) + 1e-9 * Number(nsec)) * scale;
  const wholeSeconds = Math.floor(seconds);
  return BigInt(wholeSeconds) * NS + BigInt(roundHalfAway((seconds - wholeSeconds) * 1e9));
}

export class RosApproximateReference {
  readonly emitted: ReferenceGroup[] = [];
  private readonly deques: ReferenceFrame[][];
  private readonly past: ReferenceFrame[][];
  private readonly dropped: boolean[];
  private candidate: ReferenceFrame[] | undefined;
  private pivot = -1;
  private pivotTime = 0n;
  private candidateStart = 0n;
  private candidateEnd = 0n;
  private added = 0;

  constructor(private readonly o: ReferenceOptions) {
    this.deques = Array.from({ length: o.cameras }, () => []);
    this.past = Array.from({ length: o.cameras }, () => []);
    this.dropped = Array.from({ length: o.cameras }, () => false);
  }

  add(frame: ReferenceFrame): void {
    const i = frame.camera;
    this.deques[i]!.push(frame);
    if (this.deques[i]!.length === 1 && this.allNonEmpty()) this.process();
    if (this.deques[i]!.length + this.past[i]!.length > this.o.queueSize) {
      for (let c = 0; c < this.o.cameras; c++) this.restore(c, this.past[c]!.length);
      this.deques[i]!.shift();
      this.dropped[i] = true;
      if (this.pivot >= 0) {
        this.candidate = undefined;
        this.pivot = -1;
        this.process();
      }
    }
    this.added++;
  }

  private allNonEmpty(): boolean {
    return this.deques.every((d) => d.length > 0);
  }

  private scaled(d: bigint): bigint {
    return rosDurationTimes(d, 1 + this.o.agePenalty);
  }

  private process(): void {
    while (this.allNonEmpty()) {
      const fronts = this.deques.map((d) => d[0]!.t);
      // End: the latest front, the last camera on ties; start: the earliest, the first on ties.
      let endIndex = 0;
      let startIndex = 0;
      fronts.forEach((t, c) => {
        if (t >= fronts[endIndex]!) endIndex = c;
        if (t < fronts[startIndex]!) startIndex = c;
      });
      const end = fronts[endIndex]!;
      const start = fronts[startIndex]!;
      this.dropped.forEach((_, c) => {
        if (c !== endIndex) this.dropped[c] = false;
      });
      if (this.pivot < 0) {
        if ((this.o.maxIntervalNs !== undefined && end - start > this.o.maxIntervalNs) || this.dropped[endIndex]) {
          this.deques[startIndex]!.shift();
          continue;
        }
        this.takeCandidate(start, end);
        this.pivot = endIndex;
        this.pivotTime = end;
      } else if (this.scaled(end - this.candidateEnd) < start - this.candidateStart) {
        this.takeCandidate(start, end);
      }
      this.past[startIndex]!.push(this.deques[startIndex]!.shift()!);

      if (startIndex === this.pivot || this.scaled(end - this.candidateEnd) >= this.pivotTime - this.candidateStart) {
        this.publish();
      } else if (!this.allNonEmpty()) {
        this.virtualSearch();
      }
    }
  }

  private virtualSearch(): void {
    const moves = this.deques.map(() => 0);
    for (;;) {
      const times = this.deques.map((d, c) => {
        if (d.length > 0) return d[0]!.t;
        const bound = this.past[c]!.at(-1)!.t + (this.o.lowerBoundNs?.[c] ?? 0n);
        return bound > this.pivotTime ? bound : this.pivotTime;
      });
      let startIndex = 0;
      let end = times[0]!;
      times.forEach((t, c) => {
        if (t > end) end = t;
        if (t < times[startIndex]!) startIndex = c;
      });
      if (this.scaled(end - this.candidateEnd) >= this.pivotTime - this.candidateStart) {
        this.publish();
        return;
      }
      if (this.scaled(end - this.candidateEnd) < times[startIndex]! - this.candidateStart) {
        moves.forEach((m, c) => {
          this.restore(c, m);
        });
        return;
      }
      this.past[startIndex]!.push(this.deques[startIndex]!.shift()!);
      moves[startIndex]!++;
    }
  }

  private takeCandidate(start: bigint, end: bigint): void {
    this.candidate = this.deques.map((d) => d[0]!);
    for (const p of this.past) p.length = 0;
    this.candidateStart = start;
    this.candidateEnd = end;
  }

  private publish(): void {
    this.emitted.push({ at: this.added, members: this.candidate!.map((f) => f.id) });
    this.candidate = undefined;
    this.pivot = -1;
    for (let c = 0; c < this.o.cameras; c++) {
      this.restore(c, this.past[c]!.length);
      this.deques[c]!.shift();
    }
  }

  /** Puts the last `count` frames passed over back in front of the camera's queue. */
  private restore(camera: number, count: number): void {
    const back = this.past[camera]!.splice(this.past[camera]!.length - count, count);
    this.deques[camera]!.unshift(...back);
  }
}
