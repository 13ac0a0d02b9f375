import type { Frame } from './frame.js';
import type { FrameGroup } from './frame-group.js';
import { type CameraSpec, checkNonNegative, checkPositiveInt, GroupIdCounter, PolicyBase, type PolicyOutput } from './grouping-policy.js';
import { NS_PER_MS, seqForwardDistance } from './time.js';

export interface BarrierPolicyOptions {
  /** How long (frame time) a group waits for a camera that has not reached its index, ns. Default 100 ms. */
  readonly maxWaitNs?: number;
  /** Groups held at once; past this the oldest is emitted as it is. Default 64. */
  readonly maxPendingGroups?: number;
}

interface PendingGroup {
  readonly frames: Frame[];
  firstRel: number;
}

const HALF_U32 = 0x8000_0000;

/**
 * Sequence-locked grouping for cameras started together. Seed: `barrier_sync_strategy`
 * (its real-time part — threads released at one sync point — is the devices'
 * synchronized start; see @syncap/native-v4l2 `startAll`).
 *
 * Group k holds each camera's k-th frame since the common start, taken from the
 * driver sequence (u32, wrap-aware; drivers count dropped frames too). A dropped
 * frame leaves a hole in its own group instead of shifting every later group, as
 * the seed's "next frame from each thread" would. Group k is emitted once every
 * camera has passed index k, or after `maxWaitNs` of frame time.
 */
export class BarrierPolicy extends PolicyBase {
  readonly name = 'barrier' as const;
  readonly maxWaitNs: number;
  readonly maxPendingGroups: number;
  /** Last raw sequence per camera, or -1 before its first frame of the epoch. */
  private readonly lastSeq: Float64Array;
  private readonly lastIndex: Float64Array;
  private epochBase = 0;
  private highestIndex = -1;
  private nextIndex = 0;
  private readonly pending = new Map<number, PendingGroup>();
  private held = 0;
  /** Cameras whose sequence jumped backwards without a restart() (driver restarted on its own). */
  sequenceResets = 0;

  constructor(cameras: readonly CameraSpec[], out: PolicyOutput, options: BarrierPolicyOptions = {}, ids?: GroupIdCounter) {
    super(cameras, out, ids ?? new GroupIdCounter());
    this.maxWaitNs = checkNonNegative('maxWaitNs', options.maxWaitNs ?? 100 * NS_PER_MS);
    this.maxPendingGroups = checkPositiveInt('maxPendingGroups', options.maxPendingGroups ?? 64);
    this.lastSeq = new Float64Array(cameras.length).fill(-1);
    this.lastIndex = new Float64Array(cameras.length).fill(-1);
  }

  get pendingFrames(): number {
    return this.held;
  }

  push(frame: Frame): void {
    const cam = this.admit(frame);
    if (cam < 0) return;
    const index = this.indexOf(cam, frame);
    if (index < 0) return;
    if (index < this.nextIndex) {
      this.out.discard(frame, 'late');
      return;
    }
    const rel = this.lastRel[cam]!;
    let g = this.pending.get(index);
    if (!g) {
      g = { frames: [], firstRel: rel };
      this.pending.set(index, g);
    } else if (rel < g.firstRel) {
      g.firstRel = rel;
    }
    g.frames.push(frame);
    this.held++;
    if (this.pending.size > this.maxPendingGroups) this.emitOldest(false);
    this.tryEmit();
  }

  /**
   * The cameras were restarted together (their sequences start again at 0): a new
   * epoch. Pending groups of the old epoch are emitted as they are.
   */
  restart(): void {
    while (this.pending.size > 0) this.emitOldest(false);
    this.epochBase = this.highestIndex + 1;
    this.nextIndex = this.epochBase;
    this.lastSeq.fill(-1);
  }

  /**
   * Re-locks sequence counting on a group known to be simultaneous (the hybrid
   * passes its last well-synced fallback group): its members share one index.
   */
  rebase(group: FrameGroup): void {
    while (this.pending.size > 0) this.emitOldest(false);
    const index = this.highestIndex + 1;
    this.lastSeq.fill(-1);
    for (const [cameraId, frame] of group.frames) {
      const cam = this.cameraIndex.get(cameraId);
      if (cam === undefined) continue;
      this.lastSeq[cam] = frame.seq;
      this.lastIndex[cam] = index;
      if (this.epochNs !== undefined) {
        const rel = Number(frame.rigTimeNs - this.epochNs);
        if (rel > this.lastRel[cam]!) this.lastRel[cam] = rel;
      }
    }
    this.highestIndex = index;
    this.nextIndex = index + 1;
    this.epochBase = index + 1;
  }

  protected onAdvance(): void {
    this.tryEmit();
  }

  flush(): void {
    while (this.pending.size > 0) this.emitOldest(true);
  }

  drainPending(): Frame[] {
    const keys = [...this.pending.keys()].sort((a, b) => a - b);
    const frames: Frame[] = [];
    for (const k of keys) frames.push(...this.pending.get(k)!.frames);
    this.pending.clear();
    this.held = 0;
    return frames;
  }

  /** Maps a frame's sequence to its group index; -1 when discarded. */
  private indexOf(cam: number, frame: Frame): number {
    const last = this.lastSeq[cam]!;
    let index: number;
    if (last < 0) {
      index = this.epochBase + frame.seq;
    } else {
      const d = seqForwardDistance(last, frame.seq);
      if (d === 0) {
        this.out.discard(frame, 'out-of-order');
        return -1;
      }
      if (d >= HALF_U32) {
        // Backwards: this camera restarted on its own. It cannot stay locked to the
        // others; count it and give it a fresh range so nothing is misfiled as late.
        this.sequenceResets++;
        index = this.highestIndex + 1 + frame.seq;
      } else {
        index = this.lastIndex[cam]! + d;
      }
    }
    this.lastSeq[cam] = frame.seq;
    this.lastIndex[cam] = index;
    if (index > this.highestIndex) this.highestIndex = index;
    return index;
  }

  /** Emits the oldest pending group while every camera has passed it (or it waited maxWaitNs). */
  private tryEmit(): void {
    while (this.pending.size > 0) {
      const k = this.oldestPendingIndex();
      const g = this.pending.get(k)!;
      if (!this.allPassed(k) && this.nowRel - g.firstRel < this.maxWaitNs) return;
      this.emitOldest(false);
    }
  }

  private emitOldest(flushed: boolean): void {
    const k = this.oldestPendingIndex();
    const g = this.pending.get(k)!;
    this.pending.delete(k);
    this.held -= g.frames.length;
    this.nextIndex = k + 1;
    this.emit(g.frames, flushed && !this.allPassed(k));
  }

  private oldestPendingIndex(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const k of this.pending.keys()) if (k < min) min = k;
    return min;
  }

  private allPassed(index: number): boolean {
    for (let c = 0; c < this.lastIndex.length; c++) {
      if (this.lastSeq[c]! < 0 || this.lastIndex[c]! < index) return false;
    }
    return true;
  }
}
