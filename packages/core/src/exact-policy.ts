import type { Frame } from './frame.js';
import { type CameraSpec, checkPositiveInt, GroupIdCounter, PolicyBase, type PolicyOutput } from './grouping-policy.js';

export interface ExactPolicyOptions {
  /** Distinct timestamps held at once; the oldest is discarded (overflow) past this. Default 10. */
  readonly queueSize?: number;
}

interface Slot {
  readonly frames: Frame[];
  readonly rel: number;
}

/**
 * Groups frames with identical timestamps (hardware-triggered cameras stamped by
 * one clock, or ROS ExactTime). When a timestamp completes, it is emitted and
 * every older incomplete timestamp is discarded as stale, as ExactTime does.
 */
export class ExactPolicy extends PolicyBase {
  readonly name = 'exact' as const;
  readonly queueSize: number;
  /** Slots in ascending time (frames per camera arrive in order, so inserts are near the end). */
  private readonly slots: Slot[] = [];
  private held = 0;

  constructor(cameras: readonly CameraSpec[], out: PolicyOutput, options: ExactPolicyOptions = {}, ids?: GroupIdCounter) {
    super(cameras, out, ids ?? new GroupIdCounter());
    this.queueSize = checkPositiveInt('queueSize', options.queueSize ?? 10);
  }

  get pendingFrames(): number {
    return this.held;
  }

  push(frame: Frame): void {
    if (this.admit(frame) < 0) return;
    const rel = this.lastRel[this.cameraIndex.get(frame.cameraId)!]!;
    let i = this.slots.length - 1;
    while (i >= 0 && this.slots[i]!.rel > rel) i--;
    let slot = i >= 0 ? this.slots[i] : undefined;
    if (!slot || slot.rel !== rel) {
      slot = { frames: [], rel };
      this.slots.splice(i + 1, 0, slot);
    }
    slot.frames.push(frame);
    this.held++;
    if (slot.frames.length === this.cameraIds.length) {
      const at = this.slots.indexOf(slot);
      for (const older of this.slots.splice(0, at)) this.discardSlot(older, 'stale');
      this.slots.shift();
      this.held -= slot.frames.length;
      this.emit(slot.frames);
    } else if (this.slots.length > this.queueSize) {
      this.discardSlot(this.slots.shift()!, 'overflow');
    }
  }

  protected onAdvance(): void {
    // Exact matching has no timeouts.
  }

  flush(): void {
    for (const slot of this.slots.splice(0)) {
      this.held -= slot.frames.length;
      this.emit(slot.frames, true);
    }
  }

  drainPending(): Frame[] {
    const frames = this.slots.splice(0).flatMap((s) => s.frames);
    this.held = 0;
    return frames;
  }

  private discardSlot(slot: Slot, reason: 'stale' | 'overflow'): void {
    this.held -= slot.frames.length;
    for (const f of slot.frames) this.out.discard(f, reason);
  }
}
