import { ConfigError } from './errors.js';
import type { Frame } from './frame.js';
import { type CameraSpec, checkNonNegative, checkPositiveInt, GroupIdCounter, PolicyBase, type PolicyOutput } from './grouping-policy.js';
import { RingQueue } from './ring-queue.js';

export interface EpsilonPolicyOptions {
  /** How far after a group's oldest frame its other frames may be, ns (ROS epsilon). Required. */
  readonly epsilonNs: number;
  /**
   * Frames held per camera while some camera has none; past this the oldest is discarded
   * (overflow). A camera may briefly hold one more while the others are being matched, as in
   * ROS. Default 10.
   */
  readonly queueSize?: number;
}

interface Held {
  readonly frame: Frame;
  readonly rel: number;
}

/**
 * ROS 2 message_filters ApproximateEpsilonTime: as soon as every camera has a frame,
 * look at each camera's oldest one. If all lie within `epsilonNs` of the oldest of them,
 * they are a group; otherwise the ones that do (the oldest included) are discarded as
 * stale — they cannot meet the others' frames, which are all later — and the next
 * oldest frames are tried. Output is immediate: no waiting to prove a tighter set.
 *
 * Groups are complete, span at most `epsilonNs`, use each frame once, and come out in
 * time order; every frame is grouped, discarded (stale, overflow, out-of-order) or pending.
 */
export class EpsilonPolicy extends PolicyBase {
  readonly name = 'epsilon' as const;
  readonly epsilonNs: number;
  readonly queueSize: number;
  private readonly queues: RingQueue<Held>[];
  private nonEmpty = 0;
  private held = 0;

  constructor(cameras: readonly CameraSpec[], out: PolicyOutput, options: EpsilonPolicyOptions, ids?: GroupIdCounter) {
    super(cameras, out, ids ?? new GroupIdCounter());
    if (options?.epsilonNs === undefined) throw new ConfigError('epsilonNs is required: how far after its oldest frame a group may reach, ns');
    this.epsilonNs = checkNonNegative('epsilonNs', options.epsilonNs);
    this.queueSize = checkPositiveInt('queueSize', options.queueSize ?? 10);
    this.queues = cameras.map(() => new RingQueue<Held>(16));
  }

  get pendingFrames(): number {
    return this.held;
  }

  push(frame: Frame): void {
    const cam = this.admit(frame);
    if (cam < 0) return;
    const q = this.queues[cam]!;
    if (q.length === 0) this.nonEmpty++;
    q.push({ frame, rel: this.lastRel[cam]! });
    this.held++;
    if (this.nonEmpty === this.queues.length) {
      this.process();
    } else if (q.length > this.queueSize) {
      this.held--;
      this.out.discard(q.shift()!.frame, 'overflow');
    }
  }

  protected onAdvance(): void {
    // Epsilon matching has no timeouts: frames alone decide.
  }

  flush(): void {
    // Some camera has no frame (else they would have been matched): nothing more can form.
    for (const f of this.drainPending()) this.out.discard(f, 'stale');
  }

  drainPending(): Frame[] {
    const frames: Frame[] = [];
    for (const q of this.queues) {
      for (let h = q.shift(); h !== undefined; h = q.shift()) frames.push(h.frame);
    }
    this.nonEmpty = 0;
    this.held = 0;
    return frames;
  }

  private process(): void {
    const queues = this.queues;
    const n = queues.length;
    while (this.nonEmpty === n) {
      let oldest = queues[0]!.peek()!.rel;
      for (let c = 1; c < n; c++) {
        const t = queues[c]!.peek()!.rel;
        if (t < oldest) oldest = t;
      }
      const limit = oldest + this.epsilonNs;
      let within = 0;
      for (let c = 0; c < n; c++) if (queues[c]!.peek()!.rel <= limit) within++;
      if (within === n) {
        const members: Frame[] = [];
        for (let c = 0; c < n; c++) members.push(this.take(c));
        this.held -= n;
        this.emit(members);
      } else {
        for (let c = 0; c < n; c++) {
          if (queues[c]!.peek()!.rel <= limit) {
            this.held--;
            this.out.discard(this.take(c), 'stale');
          }
        }
      }
    }
  }

  private take(c: number): Frame {
    const q = this.queues[c]!;
    const h = q.shift()!;
    if (q.length === 0) this.nonEmpty--;
    return h.frame;
  }
}
