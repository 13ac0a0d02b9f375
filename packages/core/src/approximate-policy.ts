import { ConfigError } from './errors.js';
import type { Frame } from './frame.js';
import { type CameraSpec, checkNonNegative, checkPositiveInt, GroupIdCounter, PolicyBase, type PolicyOutput } from './grouping-policy.js';
import { RingQueue } from './ring-queue.js';

export interface ApproximatePolicyOptions {
  /** Frames held per camera (waiting and already-considered); the oldest is dropped past this. Default 10. */
  readonly queueSize?: number;
  /** Largest span a group may have, ns (ROS max_interval_duration). Default: unbounded. */
  readonly maxIntervalNs?: number;
  /** The same bound under the name the other policies use; give one or the other. */
  readonly toleranceNs?: number;
  /**
   * Per-camera lower bound on the interval between consecutive frames, ns
   * (ROS inter_message_lower_bound). Lets a group be published as soon as it is
   * provably optimal instead of when the next frame of every camera arrives.
   * A camera at f fps with bounded jitter j can use 1e9/f − 2j. Default 0.
   */
  readonly minIntervalNs?: Readonly<Record<string, number>>;
  /**
   * ROS age_penalty: a later set must be this much (relatively) tighter to replace the
   * candidate, which favours publishing earlier over a slightly smaller span. 0 makes
   * every group the minimal-span set around its pivot. Default 0.1 (ROS's).
   */
  readonly agePenalty?: number;
  /**
   * Not ROS: also retry the proof that the pending group is optimal when a frame lands on
   * a queue that is not empty. Then the output is a function of the frames received,
   * whatever the interleaving of the camera streams (while no queue overflows), and each
   * group is published as soon as the frames received prove it. ROS searches only when an
   * empty queue gets a frame, so it can publish later and, when a queue overflows in the
   * meantime, hold different frames. Default false (ROS).
   */
  readonly orderIndependent?: boolean;
}

/** ROS's default age_penalty (ApproximateTime's constructor, ROS 1 and ROS 2). */
export const ROS_AGE_PENALTY = 0.1;

interface Held {
  readonly frame: Frame;
  readonly rel: number;
}

const NO_PIVOT = -1;

/**
 * ROS message_filters ApproximateTime (approximate_time.h, ROS 1 and ROS 2), ported to
 * frames step for step, defaults included: the same frames in the same arrival order
 * give the same groups, at the same moments, as ROS's Synchronizer (checked against
 * Debian's ROS 1 C++ by the differential test and bench/core-matcher.ts). Durations
 * scaled by the age penalty are rounded to the ns as ROS 1's ros::Duration does (ROS 2
 * truncates; the two differ only when a comparison ties to the ns).
 *
 * Guarantees: each frame is used at most once; groups are complete and do not cross; with
 * agePenalty 0 a group's span is minimal among the sets containing its pivot (the latest
 * of the cameras' oldest frames). As in ROS, what has been published by a given moment
 * can depend on how the camera streams interleave (the optimality proof is tried only
 * when an empty queue gets a frame), and with small queues so can which frames overflow;
 * `orderIndependent` removes that.
 *
 * Unlike ROS, a frame whose time does not increase past its camera's previous one is
 * discarded (out-of-order) instead of queued.
 */
export class ApproximatePolicy extends PolicyBase {
  readonly name = 'approximate' as const;
  readonly queueSize: number;
  private maxIntervalNs: number;
  /** 1 + age penalty. */
  private readonly ageScale: number;
  private readonly lowerBound: Float64Array;
  private readonly deques: RingQueue<Held>[];
  private readonly past: Held[][];
  private readonly hasDropped: boolean[];
  private numNonEmpty = 0;
  private candidate: Frame[] | null = null;
  private candidateStart = 0;
  private candidateEnd = 0;
  private pivot = NO_PIVOT;
  private pivotTime = 0;
  private held = 0;
  private flushing = false;
  private readonly virtualMoves: number[];
  private readonly orderIndependent: boolean;

  constructor(cameras: readonly CameraSpec[], out: PolicyOutput, options: ApproximatePolicyOptions = {}, ids?: GroupIdCounter) {
    super(cameras, out, ids ?? new GroupIdCounter());
    const n = cameras.length;
    this.queueSize = checkPositiveInt('queueSize', options.queueSize ?? 10);
    if (options.maxIntervalNs !== undefined && options.toleranceNs !== undefined && options.maxIntervalNs !== options.toleranceNs) {
      throw new ConfigError(`maxIntervalNs (${options.maxIntervalNs}) and toleranceNs (${options.toleranceNs}) are the same bound: give one of them`);
    }
    const maxIntervalName = options.maxIntervalNs === undefined && options.toleranceNs !== undefined ? 'toleranceNs' : 'maxIntervalNs';
    this.maxIntervalNs = checkNonNegative(maxIntervalName, options.maxIntervalNs ?? options.toleranceNs ?? Number.POSITIVE_INFINITY);
    const agePenalty = options.agePenalty ?? ROS_AGE_PENALTY;
    if (typeof agePenalty !== 'number' || !Number.isFinite(agePenalty) || agePenalty < 0) {
      throw new ConfigError(`agePenalty must be a finite non-negative number (ROS age_penalty; default ${ROS_AGE_PENALTY}), got ${agePenalty}`);
    }
    this.ageScale = 1 + agePenalty;
    this.lowerBound = new Float64Array(n);
    for (const [id, ns] of Object.entries(options.minIntervalNs ?? {})) {
      const i = this.cameraIndex.get(id);
      if (i === undefined) throw new ConfigError(`minIntervalNs names camera "${id}", which is not in the rig (${this.cameraIds.join(', ')})`);
      this.lowerBound[i] = checkNonNegative(`minIntervalNs.${id}`, ns);
    }
    this.deques = cameras.map(() => new RingQueue<Held>(16));
    this.past = cameras.map(() => []);
    this.hasDropped = cameras.map(() => false);
    this.virtualMoves = cameras.map(() => 0);
    this.orderIndependent = options.orderIndependent === true;
  }

  get pendingFrames(): number {
    return this.held;
  }

  /** Changes the largest allowed span (ROS setMaxIntervalDuration). */
  setTolerance(toleranceNs: number): void {
    this.maxIntervalNs = checkNonNegative('toleranceNs', toleranceNs);
  }

  push(frame: Frame): void {
    const i = this.admit(frame);
    if (i < 0) return;
    const deque = this.deques[i]!;
    deque.push({ frame, rel: this.lastRel[i]! });
    this.held++;
    if (deque.length === 1) {
      this.numNonEmpty++;
      if (this.numNonEmpty === this.deques.length) this.process();
    } else if (this.orderIndependent && this.pivot !== NO_PIVOT && this.numNonEmpty < this.deques.length) {
      // ROS searches only when an empty queue gets a frame. But the proof that the pending
      // candidate is optimal walks past the queues' oldest frames, so a frame behind others
      // can complete it: trying again here publishes as soon as the frames received prove
      // it, whatever order they came in.
      this.virtualSearch();
      if (this.numNonEmpty === this.deques.length) this.process();
    }
    // During process() a deque may briefly hold queueSize + 1 frames.
    if (deque.length + this.past[i]!.length > this.queueSize) {
      // Cancel the ongoing candidate search, then drop the oldest frame of this camera.
      this.recoverAll();
      this.held--;
      this.out.discard(deque.shift()!.frame, 'overflow');
      this.hasDropped[i] = true;
      if (this.pivot !== NO_PIVOT) {
        this.candidate = null;
        this.pivot = NO_PIVOT;
        this.process();
      }
    }
  }

  protected onAdvance(): void {
    // ApproximateTime has no timeouts: only frames prove a group optimal.
  }

  flush(): void {
    // No more frames: the current candidate is the best there will be; keep going until none forms.
    this.flushing = true;
    while (this.pivot !== NO_PIVOT) {
      this.publishCandidate();
      this.process();
    }
    this.flushing = false;
    for (const f of this.drainPending()) this.out.discard(f, 'stale');
  }

  drainPending(): Frame[] {
    this.recoverAll();
    const frames: Frame[] = [];
    for (const q of this.deques) {
      for (const h of q.toArray()) frames.push(h.frame);
      q.clear();
    }
    this.numNonEmpty = 0;
    this.candidate = null;
    this.pivot = NO_PIVOT;
    this.held = 0;
    return frames;
  }

  private process(): void {
    const n = this.deques.length;
    while (this.numNonEmpty === n) {
      // Find the start and end of the current interval.
      let endIndex = 0;
      let endTime = this.deques[0]!.peek()!.rel;
      let startIndex = 0;
      let startTime = endTime;
      for (let i = 1; i < n; i++) {
        const t = this.deques[i]!.peek()!.rel;
        if (t >= endTime) {
          endTime = t;
          endIndex = i;
        }
        if (t < startTime) {
          startTime = t;
          startIndex = i;
        }
      }
      // No dropped frame could have been better than the ones held, so these cameras may pivot again.
      for (let i = 0; i < n; i++) if (i !== endIndex) this.hasDropped[i] = false;

      if (this.pivot === NO_PIVOT) {
        if (endTime - startTime > this.maxIntervalNs) {
          this.dequeDeleteFront(startIndex); // never a valid candidate: advance
          continue;
        }
        if (this.hasDropped[endIndex]) {
          this.dequeDeleteFront(startIndex); // a camera that dropped frames is not a good pivot
          continue;
        }
        this.makeCandidate();
        this.candidateStart = startTime;
        this.candidateEnd = endTime;
        this.pivot = endIndex;
        this.pivotTime = endTime;
        this.dequeMoveFrontToPast(startIndex);
      } else if (this.aged(endTime - this.candidateEnd) >= startTime - this.candidateStart) {
        this.dequeMoveFrontToPast(startIndex); // a better candidate was already seen
      } else {
        this.makeCandidate(); // keep the same pivot (and pivot time)
        this.candidateStart = startTime;
        this.candidateEnd = endTime;
        this.dequeMoveFrontToPast(startIndex);
      }

      if (startIndex === this.pivot) {
        this.publishCandidate(); // every candidate for this pivot has been seen
      } else if (this.aged(endTime - this.candidateEnd) >= this.pivotTime - this.candidateStart) {
        this.publishCandidate(); // any later candidate contains [pivotTime, endTime], already too wide
      } else if (this.numNonEmpty < n) {
        this.virtualSearch();
      }
    }
  }

  /** Uses the inter-frame lower bounds to try to prove the candidate optimal before more frames arrive. */
  private virtualSearch(): void {
    const n = this.deques.length;
    const moves = this.virtualMoves;
    // `moves` is all zeros here: recoverMoves leaves it so.
    for (;;) {
      let endTime = this.virtualTime(0);
      let startIndex = 0;
      let startTime = endTime;
      for (let i = 1; i < n; i++) {
        const t = this.virtualTime(i);
        if (t > endTime) endTime = t;
        if (t < startTime) {
          startTime = t;
          startIndex = i;
        }
      }
      const aged = this.aged(endTime - this.candidateEnd);
      if (aged >= this.pivotTime - this.candidateStart) {
        this.recoverMoves(moves); // optimality proved: restore the deques, then consume the candidate
        this.publishCandidate();
        return;
      }
      if (aged < startTime - this.candidateStart) {
        this.recoverMoves(moves); // an optimistic future candidate beats this one: wait for frames
        return;
      }
      this.dequeMoveFrontToPast(startIndex);
      moves[startIndex]!++;
    }
  }

  /** A duration scaled by 1 + age penalty, as ROS 1's ros::Duration::operator*(double) does it. */
  private aged(durationNs: number): number {
    return rosScaledNs(durationNs, this.ageScale);
  }

  private virtualTime(i: number): number {
    const q = this.deques[i]!;
    const front = q.peek();
    if (front !== undefined) return front.rel;
    const past = this.past[i]!;
    const lowerBound = past[past.length - 1]!.rel + this.lowerBound[i]!;
    return Math.max(lowerBound, this.pivotTime);
  }

  private makeCandidate(): void {
    const candidate: Frame[] = [];
    for (const q of this.deques) candidate.push(q.peek()!.frame);
    this.candidate = candidate;
    // Frames already passed over can no longer be part of a better group.
    for (const past of this.past) {
      if (past.length === 0) continue;
      for (const h of past) {
        this.held--;
        this.out.discard(h.frame, 'stale');
      }
      past.length = 0;
    }
  }

  private publishCandidate(): void {
    const candidate = this.candidate!;
    this.candidate = null;
    this.pivot = NO_PIVOT;
    // Recover the frames passed over and remove the ones now grouped.
    this.numNonEmpty = 0;
    for (let i = 0; i < this.deques.length; i++) {
      const q = this.deques[i]!;
      const past = this.past[i]!;
      while (past.length > 0) q.unshift(past.pop()!);
      q.shift();
      if (q.length > 0) this.numNonEmpty++;
    }
    this.held -= candidate.length;
    this.emit(candidate, this.flushing);
  }

  private recoverAll(): void {
    this.numNonEmpty = 0;
    for (let i = 0; i < this.deques.length; i++) {
      const q = this.deques[i]!;
      const past = this.past[i]!;
      while (past.length > 0) q.unshift(past.pop()!);
      if (q.length > 0) this.numNonEmpty++;
    }
  }

  private recoverMoves(moves: number[]): void {
    this.numNonEmpty = 0;
    for (let i = 0; i < this.deques.length; i++) {
      const q = this.deques[i]!;
      const past = this.past[i]!;
      for (let k = moves[i]!; k > 0; k--) q.unshift(past.pop()!);
      moves[i] = 0;
      if (q.length > 0) this.numNonEmpty++;
    }
  }

  private dequeDeleteFront(i: number): void {
    const q = this.deques[i]!;
    this.held--;
    this.out.discard(q.shift()!.frame, 'stale');
    if (q.length === 0) this.numNonEmpty--;
  }

  private dequeMoveFrontToPast(i: number): void {
    const q = this.deques[i]!;
    this.past[i]!.push(q.shift()!);
    if (q.length === 0) this.numNonEmpty--;
  }
}

/**
 * ros::Duration × double in ROS 1: the duration as seconds in a double (sec + 1e-9·nsec,
 * nsec in [0, 1e9)), scaled, then back to whole ns by rounding half away from zero.
 */
export function rosScaledNs(durationNs: number, scale: number): number {
  let sec = Math.floor(durationNs / 1e9);
  let nsec = durationNs - sec * 1e9;
  if (nsec < 0) {
    sec--;
    nsec += 1e9;
  } else if (nsec >= 1e9) {
    sec++;
    nsec -= 1e9;
  }
  const seconds = (sec + 1e-9 * nsec) * scale;
  const wholeSeconds = Math.floor(seconds);
  // (seconds − whole) is in [0, 1): Math.round's ties go up, which is away from zero here.
  return wholeSeconds * 1e9 + Math.round((seconds - wholeSeconds) * 1e9);
}
