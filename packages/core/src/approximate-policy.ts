import { ConfigError } from './errors.js';
import type { Frame } from './frame.js';
import { type CameraSpec, checkNonNegative, checkPositiveInt, GroupIdCounter, PolicyBase, type PolicyOutput } from './grouping-policy.js';
import { RingQueue } from './ring-queue.js';

export interface ApproximatePolicyOptions {
  /** Frames held per camera (waiting and already-considered); the oldest is dropped past this. Default 10 (ROS default). */
  readonly queueSize?: number;
  /** Largest span a group may have, ns (ROS max_interval_duration). Default: unbounded. */
  readonly toleranceNs?: number;
  /**
   * Per-camera lower bound on the interval between consecutive frames, ns
   * (ROS inter_message_lower_bound). Lets a group be published as soon as it is
   * provably optimal instead of when the next frame of every camera arrives.
   * A camera at f fps with bounded jitter j can use 1e9/f − 2j.
   */
  readonly minIntervalNs?: Readonly<Record<string, number>>;
  /** ROS age_penalty: > 0 favours publishing earlier over a slightly smaller span. Default 0. */
  readonly agePenalty?: number;
}

interface Held {
  readonly frame: Frame;
  readonly rel: number;
}

const NO_PIVOT = -1;

/**
 * ROS message_filters ApproximateTime, ported to frames (the algorithm of
 * approximate_time.h, step for step; its comments name the same steps).
 *
 * Guarantees: each frame is used at most once; groups do not cross; a group's
 * span is minimal among the sets containing its pivot (the latest of the first
 * frames); the output depends only on timestamps, not on how the camera streams
 * interleave (as long as no queue overflows). Groups are always complete.
 */
export class ApproximatePolicy extends PolicyBase {
  readonly name = 'approximate' as const;
  readonly queueSize: number;
  private maxIntervalNs: number;
  private readonly agePenalty: number;
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

  constructor(cameras: readonly CameraSpec[], out: PolicyOutput, options: ApproximatePolicyOptions = {}, ids?: GroupIdCounter) {
    super(cameras, out, ids ?? new GroupIdCounter());
    const n = cameras.length;
    this.queueSize = checkPositiveInt('queueSize', options.queueSize ?? 10);
    this.maxIntervalNs = checkNonNegative('toleranceNs', options.toleranceNs ?? Number.POSITIVE_INFINITY);
    this.agePenalty = checkNonNegative('agePenalty', options.agePenalty ?? 0);
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
    } else if (this.pivot !== NO_PIVOT && this.numNonEmpty < this.deques.length) {
      // Unlike ROS, which searches again only when an empty queue gets a frame: a later
      // frame on a non-empty queue can complete the proof that the pending candidate is
      // optimal. Re-checking here publishes as early as provable and makes the output a
      // function of the frames received, whatever the interleaving.
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
      } else if ((endTime - this.candidateEnd) * (1 + this.agePenalty) >= startTime - this.candidateStart) {
        this.dequeMoveFrontToPast(startIndex); // a better candidate was already seen
      } else {
        this.makeCandidate(); // keep the same pivot (and pivot time)
        this.candidateStart = startTime;
        this.candidateEnd = endTime;
        this.dequeMoveFrontToPast(startIndex);
      }

      if (startIndex === this.pivot) {
        this.publishCandidate(); // every candidate for this pivot has been seen
      } else if ((endTime - this.candidateEnd) * (1 + this.agePenalty) >= this.pivotTime - this.candidateStart) {
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
    moves.fill(0);
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
      if ((endTime - this.candidateEnd) * (1 + this.agePenalty) >= this.pivotTime - this.candidateStart) {
        this.recoverMoves(moves); // optimality proved: restore the deques, then consume the candidate
        this.publishCandidate();
        return;
      }
      if (endTime - this.candidateEnd < startTime - this.candidateStart) {
        this.recoverMoves(moves); // an optimistic future candidate beats this one: wait for frames
        return;
      }
      this.dequeMoveFrontToPast(startIndex);
      moves[startIndex]!++;
    }
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
