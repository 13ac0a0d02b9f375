import { ConfigError } from './errors.js';
import type { Frame } from './frame.js';
import { FrameGroup } from './frame-group.js';
import type { InstantNs } from './time.js';

export type PolicyName = 'barrier' | 'window' | 'approximate' | 'exact' | 'hybrid' | 'epsilon' | 'latest';
export const POLICY_NAMES: readonly PolicyName[] = ['barrier', 'window', 'approximate', 'exact', 'hybrid', 'epsilon', 'latest'];

/**
 * Why a frame left a policy without being grouped. Every frame pushed is either
 * grouped, discarded with one of these, or still pending.
 * - `stale`: it waited and no group it could join formed (window: fewer than minCameras; exact/approximate: superseded;
 *   epsilon: beyond epsilon of the other cameras' frames; latest: superseded before any group took it).
 * - `late`: it arrived after its slot was already emitted.
 * - `overflow`: a bounded queue was full.
 * - `out-of-order`: its time (or sequence) did not advance past its camera's previous frame.
 * - `unknown-camera`: its camera is not part of the rig.
 */
export type DiscardReason = 'stale' | 'late' | 'overflow' | 'out-of-order' | 'unknown-camera';
export const DISCARD_REASONS: readonly DiscardReason[] = ['stale', 'late', 'overflow', 'out-of-order', 'unknown-camera'];

/** Where a policy sends its results. */
export interface PolicyOutput {
  group(group: FrameGroup): void;
  discard(frame: Frame, reason: DiscardReason): void;
}

/** A camera as policies see it. `fps`, when known, bounds the inter-frame interval. */
export interface CameraSpec {
  readonly id: string;
  readonly fps?: number;
}

/**
 * A streaming grouping policy. Seed: `isync_strategy`.
 *
 * Policies are pure state machines over frame timestamps: time only advances
 * through frames (`push`) and `advance(nowNs)`, so replaying the same input gives
 * the same output. Memory is bounded by each policy's queue options.
 */
export interface GroupingPolicy {
  readonly name: PolicyName;
  readonly cameraIds: readonly string[];
  /** Frames currently held, not yet grouped or discarded. */
  readonly pendingFrames: number;
  push(frame: Frame): void;
  /** Time has reached `nowNs` (rig timebase) even if no frame says so: lets timeouts fire. */
  advance(nowNs: InstantNs): void;
  /** End of stream: emit whatever can form a group (marked `flushed`), discard the rest as stale. */
  flush(): void;
  /** Removes and returns every pending frame without emitting or discarding it (for handing over). */
  drainPending(): Frame[];
}

/** Group id counter that several policies can share (the hybrid's sub-policies do). */
export class GroupIdCounter {
  next = 0;
  take(): number {
    return this.next++;
  }
}

/**
 * Shared plumbing: camera index, per-camera order check, relative time.
 *
 * Relative time: timestamps are converted once per frame to a `number` of ns
 * since the first frame seen (exact below 2^53 ns ≈ 104 days), so the hot path
 * compares doubles instead of allocating bigints.
 */
export abstract class PolicyBase implements GroupingPolicy {
  abstract readonly name: PolicyName;
  readonly cameraIds: readonly string[];
  protected readonly cameraIndex = new Map<string, number>();
  protected readonly lastRel: Float64Array;
  protected epochNs: InstantNs | undefined;
  /** Latest instant known to have passed (max of frame times and advance()), relative. */
  protected nowRel = Number.NEGATIVE_INFINITY;

  constructor(
    cameras: readonly CameraSpec[],
    protected readonly out: PolicyOutput,
    protected readonly ids: GroupIdCounter = new GroupIdCounter(),
  ) {
    if (cameras.length === 0) throw new ConfigError('a policy needs at least one camera');
    this.cameraIds = cameras.map((c) => c.id);
    cameras.forEach((c, i) => {
      if (this.cameraIndex.has(c.id)) throw new ConfigError(`camera id "${c.id}" appears twice`);
      this.cameraIndex.set(c.id, i);
    });
    this.lastRel = new Float64Array(cameras.length).fill(Number.NEGATIVE_INFINITY);
  }

  abstract get pendingFrames(): number;
  abstract push(frame: Frame): void;
  abstract flush(): void;
  abstract drainPending(): Frame[];
  protected abstract onAdvance(): void;

  advance(nowNs: InstantNs): void {
    if (this.epochNs === undefined) return;
    const rel = Number(nowNs - this.epochNs);
    if (rel > this.nowRel) {
      this.nowRel = rel;
      this.onAdvance();
    }
  }

  /** Relative time of an instant. */
  protected rel(t: InstantNs): number {
    if (this.epochNs === undefined) this.epochNs = t;
    return Number(t - this.epochNs);
  }

  /**
   * Validates a pushed frame: returns its camera index and relative time, or
   * discards it (unknown camera, not after its camera's previous frame) and returns -1.
   */
  protected admit(frame: Frame): number {
    const cam = this.cameraIndex.get(frame.cameraId);
    if (cam === undefined) {
      this.out.discard(frame, 'unknown-camera');
      return -1;
    }
    const rel = this.rel(frame.rigTimeNs);
    if (rel <= this.lastRel[cam]!) {
      this.out.discard(frame, 'out-of-order');
      return -1;
    }
    this.lastRel[cam] = rel;
    if (rel > this.nowRel) this.nowRel = rel;
    return cam;
  }

  protected emit(members: readonly Frame[], flushed = false): FrameGroup {
    const group = new FrameGroup(this.ids.take(), this.cameraIds, members, flushed);
    this.out.group(group);
    return group;
  }
}

/** Reads a non-negative number option (Infinity allowed: "unbounded"), or throws a ConfigError naming it. */
export function checkNonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new ConfigError(`${name} must be a non-negative number of ns, got ${value}`);
  }
  return value;
}

/** Reads a positive integer option, or throws a ConfigError naming it. */
export function checkPositiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}
