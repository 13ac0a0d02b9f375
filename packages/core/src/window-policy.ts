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
  /**
   * The window being judged, kept between pushes so a frame costs O(1) instead of a scan
   * of every camera (1,000 cameras on a server): its anchor time and how many cameras are
   * decided (have a frame in it, or showed one past it). Rebuilt when a group leaves or a
   * frame arrives earlier than the anchor.
   */
  private windowValid = false;
  private windowT0 = 0;
  private windowAnchor = -1;
  private decidedCameras = 0;

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
    this.windowValid = false;
  }

  push(frame: Frame): void {
    const known = this.cameraIndex.get(frame.cameraId);
    const previousRel = known === undefined ? Number.NEGATIVE_INFINITY : this.lastRel[known]!;
    const cam = this.admit(frame);
    if (cam < 0) return;
    const rel = this.lastRel[cam]!;
    if (rel < this.lastAnchorRel) {
      this.out.discard(frame, 'late');
      return;
    }
    const q = this.queues[cam]!;
    const wasEmpty = q.length === 0;
    if (q.length >= this.queueSize) {
      this.held--;
      this.out.discard(q.shift()!.frame, 'overflow');
      this.windowValid = false;
    }
    q.push({ frame, rel });
    this.held++;
    if (this.windowValid && wasEmpty) {
      if (rel < this.windowT0) {
        this.windowValid = false; // a new, earlier anchor
      } else if (previousRel <= this.windowT0 + this.toleranceNs) {
        this.decidedCameras++; // was waiting on this camera; now it has a member or a later frame
      }
    }
    if (!this.windowValid || this.decidedCameras === this.queues.length || this.nowRel - this.windowT0 >= this.maxWaitNs) this.tryEmit(false);
  }

  protected onAdvance(): void {
    this.tryEmit(false);
  }

  flush(): void {
    this.tryEmit(true);
  }

  drainPending(): Frame[] {
    this.windowValid = false;
    const frames: Frame[] = [];
    for (const q of this.queues) {
      for (const h of q.toArray()) frames.push(h.frame);
      q.clear();
    }
    this.held = 0;
    return frames;
  }

  /** Finds the oldest waiting frame and counts the cameras already decided for its window. */
  private rebuildWindow(): boolean {
    const queues = this.queues;
    let t0 = Number.POSITIVE_INFINITY;
    let anchor = -1;
    for (let c = 0; c < queues.length; c++) {
      const head = queues[c]!.peek();
      if (head !== undefined && head.rel < t0) {
        t0 = head.rel;
        anchor = c;
      }
    }
    if (anchor < 0) return false;
    const end = t0 + this.toleranceNs;
    let decided = 0;
    for (let c = 0; c < queues.length; c++) {
      if (queues[c]!.length > 0 || this.lastRel[c]! > end) decided++;
    }
    this.windowT0 = t0;
    this.windowAnchor = anchor;
    this.decidedCameras = decided;
    this.windowValid = true;
    return true;
  }

  /** Emits every group that is decided; with `final`, nothing more will come, so all are. */
  private tryEmit(final: boolean): void {
    const queues = this.queues;
    const n = queues.length;
    const members = this.memberScratch;
    while (this.held > 0) {
      if (!this.windowValid && !this.rebuildWindow()) return;
      const t0 = this.windowT0;
      const undecided = this.decidedCameras < n;
      if (undecided && !final && this.nowRel - t0 < this.maxWaitNs) return;
      const end = t0 + this.toleranceNs;
      members.length = 0;
      for (let c = 0; c < n; c++) {
        const head = queues[c]!.peek();
        if (head !== undefined && head.rel <= end) members.push(c);
      }
      this.windowValid = false;
      if (members.length >= this.minCameras) {
        const frames: Frame[] = [];
        for (const c of members) frames.push(queues[c]!.shift()!.frame);
        this.held -= members.length;
        this.lastAnchorRel = t0;
        this.emit(frames, final && undecided);
      } else {
        // Too few peers: the anchor alone is stale; its companions get another chance.
        this.held--;
        this.out.discard(queues[this.windowAnchor]!.shift()!.frame, 'stale');
      }
    }
  }
}
