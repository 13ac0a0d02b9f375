import type { Frame } from './frame.js';
import { type CameraSpec, checkPositiveInt, GroupIdCounter, PolicyBase, type PolicyOutput } from './grouping-policy.js';
import type { InstantNs } from './time.js';

export interface ExactPolicyOptions {
  /** Distinct timestamps held at once; the oldest is discarded (overflow) past this. Default 10. */
  readonly queueSize?: number;
}

/** The frames seen for one timestamp, by camera index. Slots are pooled: a frame costs no allocation. */
class Slot {
  rel = 0;
  count = 0;
  frames: Array<Frame | undefined>;
  constructor(cameras: number) {
    this.frames = new Array<Frame | undefined>(cameras).fill(undefined);
  }
}

/**
 * Groups frames with identical timestamps (hardware-triggered cameras stamped by
 * one clock, or ROS ExactTime). When a timestamp completes, it is emitted and
 * every older incomplete timestamp is discarded as stale, as ExactTime does; past
 * `queueSize` timestamps the oldest is discarded as overflow.
 *
 * Output is ROS ExactTime's for frames whose times increase per camera (ROS also takes
 * a camera's repeated or older stamp; here it is discarded as out-of-order).
 */
export class ExactPolicy extends PolicyBase {
  readonly name = 'exact' as const;
  readonly queueSize: number;
  /**
   * The held timestamps in ascending order, as a ring of pooled slots with their times
   * alongside: a frame finds its slot by comparing numbers from the newest end (frames
   * of one instant arrive close together, so the match is nearly always among the last
   * few), and costs no allocation.
   */
  private readonly slots: Slot[];
  private readonly times: Float64Array;
  private head = 0;
  private length = 0;
  private held = 0;
  private lastStamp: InstantNs | undefined;
  private lastStampRel = 0;

  constructor(cameras: readonly CameraSpec[], out: PolicyOutput, options: ExactPolicyOptions = {}, ids?: GroupIdCounter) {
    super(cameras, out, ids ?? new GroupIdCounter());
    this.queueSize = checkPositiveInt('queueSize', options.queueSize ?? 10);
    // queueSize + 1 slots are held at most (the one past the bound is discarded at once).
    const capacity = this.queueSize + 1;
    this.slots = Array.from({ length: capacity }, () => new Slot(cameras.length));
    this.times = new Float64Array(capacity);
  }

  get pendingFrames(): number {
    return this.held;
  }

  /** Cameras of one instant carry the same stamp: the last conversion is reused (a bigint compare instead of a subtraction). */
  protected override rel(t: InstantNs): number {
    if (t === this.lastStamp) return this.lastStampRel;
    const rel = super.rel(t);
    this.lastStamp = t;
    this.lastStampRel = rel;
    return rel;
  }

  push(frame: Frame): void {
    const cam = this.admit(frame);
    if (cam < 0) return;
    const rel = this.lastRel[cam]!;
    const capacity = this.times.length;
    // Scan from the newest slot for this time, or for where it belongs.
    let k = this.length;
    let at = (this.head + k - 1) % capacity;
    while (k > 0 && this.times[at]! > rel) {
      k--;
      at = at === 0 ? capacity - 1 : at - 1;
    }
    let slot: Slot;
    if (k > 0 && this.times[at] === rel) {
      slot = this.slots[at]!;
    } else {
      slot = this.insertAt(k, rel);
      k++;
    }
    slot.frames[cam] = frame;
    this.held++;
    if (++slot.count === this.cameraIds.length) {
      // Every older timestamp can no longer complete: each camera has passed it.
      if (k > 1) this.discardOldest(k - 1, 'stale');
      this.held -= slot.count;
      const members = takeMembers(slot);
      this.dropOldest(1);
      this.emit(members);
    } else if (this.length > this.queueSize) {
      this.discardOldest(1, 'overflow');
    }
  }

  protected onAdvance(): void {
    // Exact matching has no timeouts.
  }

  flush(): void {
    while (this.length > 0) {
      const slot = this.slots[this.head]!;
      this.held -= slot.count;
      const members = takeMembers(slot);
      this.dropOldest(1);
      this.emit(members, true);
    }
  }

  drainPending(): Frame[] {
    const frames: Frame[] = [];
    while (this.length > 0) {
      for (const f of takeMembers(this.slots[this.head]!)) frames.push(f);
      this.dropOldest(1);
    }
    this.held = 0;
    return frames;
  }

  /** Opens a slot for `rel` as the k-th oldest, shifting the newer ones up by one. */
  private insertAt(k: number, rel: number): Slot {
    const capacity = this.times.length;
    const slots = this.slots;
    const times = this.times;
    // The ring never overflows: a push adds at most one slot and the bound is enforced right after.
    let to = (this.head + this.length) % capacity;
    const spare = slots[to]!;
    for (let j = this.length; j > k; j--) {
      const from = to === 0 ? capacity - 1 : to - 1;
      slots[to] = slots[from]!;
      times[to] = times[from]!;
      to = from;
    }
    slots[to] = spare;
    times[to] = rel;
    spare.count = 0;
    this.length++;
    return spare;
  }

  private discardOldest(count: number, reason: 'stale' | 'overflow'): void {
    for (let i = 0; i < count; i++) {
      const slot = this.slots[this.head]!;
      this.held -= slot.count;
      const frames = slot.frames;
      for (let c = 0; c < frames.length; c++) {
        const f = frames[c];
        if (f !== undefined) {
          frames[c] = undefined;
          this.out.discard(f, reason);
        }
      }
      slot.count = 0;
      this.dropOldest(1);
    }
  }

  private dropOldest(count: number): void {
    this.head = (this.head + count) % this.times.length;
    this.length -= count;
  }
}

/** A slot's frames for a group, in camera order (holes removed when flushing); the group keeps the array. */
function takeMembers(slot: Slot): Frame[] {
  const frames = slot.frames;
  slot.frames = new Array<Frame | undefined>(frames.length).fill(undefined);
  const count = slot.count;
  slot.count = 0;
  return count === frames.length ? (frames as Frame[]) : frames.filter((f): f is Frame => f !== undefined);
}
