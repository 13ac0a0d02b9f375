import type { Frame } from './frame.js';
import { type CameraSpec, checkNonNegative, checkPositiveInt, GroupIdCounter, PolicyBase, type PolicyOutput } from './grouping-policy.js';
import { RingQueue } from './ring-queue.js';
import { NS_PER_MS } from './time.js';

export interface WindowPolicyOptions {
  /** Largest span a group may have, ns. Default 1 ms. */
  readonly toleranceNs?: number;
  /** How long a frame waits for its peers (in frame time) before a partial group is formed, ns. Default 100 ms. */
  readonly maxWaitNs?: number;
  /** Fewest frames that make a group; fewer are discarded as stale. Default 2 (1 for a one-camera rig). */
  readonly minCameras?: number;
  /** Frames held per camera; the oldest is discarded (counted as overflow) past this. Default 64. */
  readonly queueSize?: number;
}

interface Held {
  readonly frame: Frame;
  readonly rel: number;
}

/**
 * Time-window grouping. Seed: `timestamp_sync_strategy`.
 *
 * The oldest waiting frame anchors a window [t0, t0 + tolerance]; each camera's
 * oldest waiting frame inside it joins. The group is decided once every camera
 * either has a member or has shown a frame past the window, or once `maxWaitNs`
 * of frame time has passed since t0. A decided group with at least `minCameras`
 * frames is emitted (flagged incomplete if short); otherwise its anchor is
 * discarded as stale. Unlike the seed it never compares unrelated "latest"
 * frames, keeps frames queued instead of overwriting them, and judges the wait
 * in frame time so replays are deterministic.
 */
export class WindowPolicy extends PolicyBase {
  readonly name = 'window' as const;
  private toleranceNs: number;
  readonly maxWaitNs: number;
  readonly minCameras: number;
  readonly queueSize: number;
  private readonly queues: RingQueue<Held>[];
  private held = 0;
  /** Anchor time of the last emitted group: frames older than this are late. */
  private lastAnchorRel = Number.NEGATIVE_INFINITY;
  private readonly memberScratch: number[] = [];

  constructor(cameras: readonly CameraSpec[], out: PolicyOutput, options: WindowPolicyOptions = {}, ids?: GroupIdCounter) {
    super(cameras, out, ids ?? new GroupIdCounter());
    this.toleranceNs = checkNonNegative('toleranceNs', options.toleranceNs ?? NS_PER_MS);
    this.maxWaitNs = checkNonNegative('maxWaitNs', options.maxWaitNs ?? 100 * NS_PER_MS);
    this.minCameras = checkPositiveInt('minCameras', options.minCameras ?? Math.min(2, cameras.length));
    this.queueSize = checkPositiveInt('queueSize', options.queueSize ?? 64);
    this.queues = cameras.map(() => new RingQueue<Held>(8));
  }

  get pendingFrames(): number {
    return this.held;
  }

  get tolerance(): number {
    return this.toleranceNs;
  }

  /** Seed: `set_tolerance`. Applies to groups decided from now on. */
  setTolerance(toleranceNs: number): void {
    this.toleranceNs = checkNonNegative('toleranceNs', toleranceNs);
  }

  push(frame: Frame): void {
    const cam = this.admit(frame);
    if (cam < 0) return;
    const rel = this.lastRel[cam]!;
    if (rel < this.lastAnchorRel) {
      this.out.discard(frame, 'late');
      return;
    }
    const q = this.queues[cam]!;
    if (q.length >= this.queueSize) {
      this.held--;
      this.out.discard(q.shift()!.frame, 'overflow');
    }
    q.push({ frame, rel });
    this.held++;
    this.tryEmit(false);
  }

  protected onAdvance(): void {
    this.tryEmit(false);
  }

  flush(): void {
    this.tryEmit(true);
  }

  drainPending(): Frame[] {
    const frames: Frame[] = [];
    for (const q of this.queues) {
      for (const h of q.toArray()) frames.push(h.frame);
      q.clear();
    }
    this.held = 0;
    return frames;
  }

  /** Emits every group that is decided; with `final`, nothing more will come, so all are. */
  private tryEmit(final: boolean): void {
    const queues = this.queues;
    const n = queues.length;
    const members = this.memberScratch;
    while (this.held > 0) {
      let t0 = Number.POSITIVE_INFINITY;
      let anchor = -1;
      for (let c = 0; c < n; c++) {
        const head = queues[c]!.peek();
        if (head !== undefined && head.rel < t0) {
          t0 = head.rel;
          anchor = c;
        }
      }
      const end = t0 + this.toleranceNs;
      members.length = 0;
      let undecided = false;
      for (let c = 0; c < n; c++) {
        const head = queues[c]!.peek();
        if (head !== undefined) {
          if (head.rel <= end) members.push(c);
        } else if (this.lastRel[c]! <= end) {
          undecided = true; // nothing newer than the window seen yet: a member may still come
        }
      }
      if (undecided && !final && this.nowRel - t0 < this.maxWaitNs) return;
      if (members.length >= this.minCameras) {
        const frames: Frame[] = [];
        for (const c of members) frames.push(queues[c]!.shift()!.frame);
        this.held -= members.length;
        this.lastAnchorRel = t0;
        this.emit(frames, final && undecided);
      } else {
        // Too few peers: the anchor alone is stale; its companions get another chance.
        this.held--;
        this.out.discard(queues[anchor]!.shift()!.frame, 'stale');
      }
    }
  }
}
