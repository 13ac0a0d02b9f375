import { build, type Histogram } from 'hdr-histogram-js';
import type { Frame } from './frame.js';
import type { FrameGroup } from './frame-group.js';
import { DISCARD_REASONS, type DiscardReason } from './grouping-policy.js';
import { RingQueue } from './ring-queue.js';
import { seqForwardDistance } from './time.js';

const HALF_U32 = 0x8000_0000;

/** A snapshot of capture statistics. */
export interface CaptureStatsSnapshot {
  /** Groups formed by the policy. */
  readonly groups: number;
  /** Groups formed in the last second of rig time. */
  readonly groupsPerSec: number;
  readonly incompleteGroups: number;
  /** Groups dropped because the consumer did not keep up (oldest first). */
  readonly droppedGroups: number;
  /** Span of groups with ≥ 2 frames, ns. */
  readonly spanNs: { readonly p50: number; readonly p99: number; readonly max: number; readonly count: number };
  readonly framesByCamera: Readonly<Record<string, number>>;
  /** Frames the driver never delivered, from sequence gaps (u32 wrap-aware). */
  readonly dropsByCamera: Readonly<Record<string, number>>;
  /** Frames the policy could not group, by reason. */
  readonly discardedByReason: Readonly<Record<DiscardReason, number>>;
  readonly lostCameras: readonly string[];
  readonly policySwitches: number;
}

/**
 * Counts what a capture produced and lost. Fed per frame and per group; cheap
 * enough for the hot path (a histogram record and a few increments).
 */
export class CaptureStats {
  private readonly span: Histogram = build({ numberOfSignificantValueDigits: 3 });
  private readonly lastSeq = new Map<string, number>();
  private readonly frames = new Map<string, number>();
  private readonly drops = new Map<string, number>();
  private readonly discarded = Object.fromEntries(DISCARD_REASONS.map((r) => [r, 0])) as Record<DiscardReason, number>;
  private readonly recentGroupTimes = new RingQueue<bigint>(64);
  private readonly lost = new Set<string>();
  groups = 0;
  incompleteGroups = 0;
  droppedGroups = 0;
  policySwitches = 0;

  constructor(cameraIds: readonly string[]) {
    for (const id of cameraIds) {
      this.frames.set(id, 0);
      this.drops.set(id, 0);
    }
  }

  onFrame(frame: Frame): void {
    const id = frame.cameraId;
    this.frames.set(id, (this.frames.get(id) ?? 0) + 1);
    const last = this.lastSeq.get(id);
    if (last !== undefined) {
      const d = seqForwardDistance(last, frame.seq);
      // A backward jump is a restart (sequence begins again), not a drop.
      if (d > 1 && d < HALF_U32) this.drops.set(id, (this.drops.get(id) ?? 0) + d - 1);
    }
    this.lastSeq.set(id, frame.seq);
  }

  /** The camera's sequence restarts (a synchronized restart): do not count the jump as drops. */
  onRestart(): void {
    this.lastSeq.clear();
  }

  onGroup(group: FrameGroup, nowNs: bigint): void {
    this.groups++;
    if (!group.complete) this.incompleteGroups++;
    if (group.size >= 2) this.span.recordValue(Math.max(0, Math.round(group.spanNs)));
    this.recentGroupTimes.push(nowNs);
    // Bounded: at absurd group rates the per-second figure saturates rather than growing memory.
    if (this.recentGroupTimes.length > 100_000) this.recentGroupTimes.shift();
    this.trimRecent(nowNs);
  }

  onDiscard(reason: DiscardReason): void {
    this.discarded[reason]++;
  }

  onLost(cameraId: string): void {
    this.lost.add(cameraId);
  }

  onReconnected(cameraId: string): void {
    this.lost.delete(cameraId);
  }

  snapshot(nowNs: bigint): CaptureStatsSnapshot {
    this.trimRecent(nowNs);
    const count = this.span.totalCount;
    return {
      groups: this.groups,
      groupsPerSec: this.recentGroupTimes.length,
      incompleteGroups: this.incompleteGroups,
      droppedGroups: this.droppedGroups,
      spanNs: {
        p50: count ? this.span.getValueAtPercentile(50) : 0,
        p99: count ? this.span.getValueAtPercentile(99) : 0,
        max: count ? this.span.maxValue : 0,
        count,
      },
      framesByCamera: Object.fromEntries(this.frames),
      dropsByCamera: Object.fromEntries(this.drops),
      discardedByReason: { ...this.discarded },
      lostCameras: [...this.lost],
      policySwitches: this.policySwitches,
    };
  }

  private trimRecent(nowNs: bigint): void {
    const cutoff = nowNs - 1_000_000_000n;
    while (this.recentGroupTimes.length > 0 && this.recentGroupTimes.peek()! <= cutoff) this.recentGroupTimes.shift();
  }
}
